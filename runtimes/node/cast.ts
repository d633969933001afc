/**
 * `ctx.cast(name, body?, { delayMs, method, path, headers })` of the Node bridge: queues an invocation
 * of another function (or of the targets a workflow maps an output alias to) through the platform's
 * durable async queue, without waiting for it to run. Resolves with the invocation id once it is on
 * disk (the first id when an alias maps to several targets, null when it maps to none); a refusal of
 * the platform (no such function, access.callers, a full queue ...) rejects with a `CallError`.
 */
import type { HeaderPairs } from '../../src/executor/protocol/messages.js';
import { CallError, type CallClient } from '../shared/calls.js';
import { noUnhandled, toBytes, type CallBody, type CallOptions } from './call.js';

export interface CastOptions extends CallOptions {
  /** Milliseconds before the cast may run (0 to 24 hours); it runs no earlier, also across a restart. */
  delayMs?: number;
}

export type CastFunction = (name: string, body?: CallBody, options?: CastOptions) => Promise<string | null>;

/** The `ctx.cast` of one invocation (`invocationId` is the caster's, as INVOKE gave it). */
export function castFor(client: CallClient, invocationId: string): CastFunction {
  return (name, body, options) => noUnhandled(castOnce(client, invocationId, name, body, options));
}

async function castOnce(
  client: CallClient,
  invocationId: string,
  ...[name, body, options = {}]: Parameters<CastFunction>
): Promise<string | null> {
  const { delayMs } = options;
  // not a number on the wire would break the CAST's schema, which ends the instance: refused here
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs))) {
    throw new CallError(
      'SKIFF_E_INVALID_REQUEST',
      `delayMs must be a number of milliseconds, not ${String(delayMs)}`,
    );
  }
  const headers = new Headers(options.headers);
  const bytes = await toBytes(body, headers);
  const pairs: HeaderPairs = [];
  headers.forEach((value, key) => pairs.push([key, value]));
  const ids = await client.cast(
    {
      invocationId,
      function: name,
      method: options.method ?? 'POST',
      path: options.path ?? '/',
      headers: pairs,
      ...(delayMs === undefined ? {} : { delayMs }),
    },
    bytes,
  );
  return ids[0] ?? null;
}
