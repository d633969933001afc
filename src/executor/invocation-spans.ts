/**
 * Publishes what the executor ran on the channel INVOCATION_SPAN_CHANNEL, for tracing (the OTLP
 * export subscribes in the composition root). Nobody subscribed: Executor.invoke checks one boolean
 * and this module does nothing.
 */
import { channel } from 'node:diagnostics_channel';
import { INVOCATION_SPAN_CHANNEL, type InvocationSpan } from '../model/trace.js';
import type { Deployment } from '../model/deployment.js';
import type { Invocation, Result } from '../model/invocation.js';
import { toSkiffError } from '../shared/errors.js';

export const invocationSpans = channel(INVOCATION_SPAN_CHANNEL);

/** What the executor knows of the pool an invocation went to. */
export interface PoolView {
  readonly queued: number;
  readonly coldStarts: number;
}

/**
 * Runs `run` (the pool's invoke) and publishes the invocation's span when it settles. `pool` is read
 * before and after: an invocation that joined the queue waited; one that waited while the pool
 * started an instance counts as a cold start.
 */
export function publishing(
  deployment: Deployment,
  inv: Invocation,
  pool: PoolView,
  run: () => Promise<Result>,
): Promise<Result> {
  const trace = inv.trace;
  if (trace === undefined) return run();
  const startMs = Date.now();
  const queuedBefore = pool.queued;
  const coldBefore = pool.coldStarts;
  const call = run();
  const waited = pool.queued > queuedBefore;
  const base = {
    function: deployment.function,
    version: deployment.version,
    trigger: inv.trigger,
    invocationId: inv.id,
    trace,
    startMs,
  };
  const publish = (outcome: { status: number } | { errorCode: string }): void => {
    const endMs = Date.now();
    const span: InvocationSpan = {
      ...base,
      ...outcome,
      endMs,
      coldStart: waited && pool.coldStarts > coldBefore,
    };
    invocationSpans.publish(span);
  };
  call.then(
    (result) => publish({ status: result.status }),
    (err: unknown) => publish({ errorCode: toSkiffError(err).code }),
  );
  return call;
}
