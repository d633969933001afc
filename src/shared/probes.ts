/**
 * The named `node:diagnostics_channel` channels the core publishes on for observers (metrics, today):
 * the core never imports an observer, and publishes only while a channel has subscribers, so that the
 * invoke path costs nothing more when nothing listens. Messages carry only what a label may be made of
 * (a function name the registry knows, a trigger kind, an error code) and durations in milliseconds.
 */
import { channel } from 'node:diagnostics_channel';
import type { TriggerKind } from '../model/invocation.js';

/** An invocation the executor was given ended (a result, an error, or a refusal before it ran). */
export interface InvocationEnd {
  function: string;
  trigger: TriggerKind;
  durationMs: number;
  /** Undefined for a result (whatever its status); else what the caller was answered with. */
  error: unknown;
  /** Set when the platform as a whole refused it (executor.maxInFlight), not the function's pool. */
  platformBusy?: boolean;
}

/** An instance started because an invocation had to wait for one; `failed` when it never got ready. */
export interface ColdStart {
  function: string;
  durationMs: number;
  failed: boolean;
}

/** A queued invocation got a free slot after waiting `durationMs`. */
export interface QueueWait {
  function: string;
  durationMs: number;
}

/** A durable-queue attempt is retried (`refused`: the platform was busy, no retry used up). */
export interface AsyncRetry {
  function: string;
  refused: boolean;
}

/** A durable-queue invocation became final without a result (dead-lettered or expired). */
export interface AsyncDeadLetter {
  function: string;
  reason: 'failed' | 'expired';
}

/** A deploy's build (and first start) ended. */
export interface BuildEnd {
  function: string;
  durationMs: number;
  failed: boolean;
}

/** Refusals no function label goes with (the name or address is a stranger's): a fixed reason. */
export type PlatformRefusal = 'client_in_flight' | 'async_queue_full';

export const probes = {
  invocationEnd: channel('skiff:invocation:end'),
  coldStart: channel('skiff:instance:cold-start'),
  queueWait: channel('skiff:queue:wait'),
  asyncRetry: channel('skiff:async:retry'),
  asyncDeadLetter: channel('skiff:async:dead-letter'),
  buildEnd: channel('skiff:build:end'),
  /** A PlatformRefusal: a gateway client over its in-flight cap, an async request over the queue's. */
  refusal: channel('skiff:refusal'),
  /** The function's name: it no longer exists (observers forget what they keep about it). */
  functionDeleted: channel('skiff:function:deleted'),
} as const;

/**
 * Returns `call` as is; with subscribers on `skiff:invocation:end`, publishes its end (duration from
 * now). The one observation of an invocation: every trigger's reaches the executor through here.
 */
export function observeInvocation<T>(call: Promise<T>, fn: string, trigger: TriggerKind): Promise<T> {
  if (!probes.invocationEnd.hasSubscribers) return call;
  const since = performance.now();
  const end = (error: unknown): void => {
    const message: InvocationEnd = {
      function: fn,
      trigger,
      durationMs: performance.now() - since,
      error,
    };
    probes.invocationEnd.publish(message);
  };
  call.then(
    () => end(undefined),
    (err: unknown) => end(err ?? new Error('rejected')),
  );
  return call;
}

/** Publishes an invocation refused before it was given to a pool (nothing ran). */
export function publishRefusal(
  fn: string,
  trigger: TriggerKind,
  error: unknown,
  platformBusy: boolean,
): void {
  if (!probes.invocationEnd.hasSubscribers) return;
  const message: InvocationEnd = { function: fn, trigger, durationMs: 0, error, platformBusy };
  probes.invocationEnd.publish(message);
}

/** Returns `started` as is; for a cold start with subscribers, publishes how long it took (or that it failed). */
export function observeColdStart(started: Promise<void>, cold: boolean, fn: string): Promise<void> {
  if (!cold || !probes.coldStart.hasSubscribers) return started;
  const since = performance.now();
  const end = (failed: boolean): void => {
    const message: ColdStart = { function: fn, durationMs: performance.now() - since, failed };
    probes.coldStart.publish(message);
  };
  started.then(
    () => end(false),
    () => end(true),
  );
  return started;
}

/** Publishes a refusal counted without a function (its reason only). */
export function publishPlatformRefusal(reason: PlatformRefusal): void {
  if (probes.refusal.hasSubscribers) probes.refusal.publish(reason);
}

/** A start time for a measurement when `ch` has subscribers, else 0 (nothing to measure). */
export function probeStart(ch: { hasSubscribers: boolean }): number {
  return ch.hasSubscribers ? performance.now() : 0;
}

/** Publishes `{ function, durationMs, ...extra }` on `ch` when `since` came from probeStart (not 0). */
export function publishSince<E extends object>(
  ch: { publish(message: unknown): void },
  since: number,
  fn: string,
  extra: E,
): void {
  if (since > 0) ch.publish({ function: fn, durationMs: performance.now() - since, ...extra });
}
