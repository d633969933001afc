/** How the control API shows asynchronous invocations: one in full, one in a list, one not found. */
import { SkiffError } from '../shared/errors.js';
import type { AsyncRecord } from '../store/queue-store.js';

/** An invocation as a list shows it: its result without the body (`skiff invocation get` has it). */
export function asyncListView(r: AsyncRecord) {
  const { result, ...rest } = asyncView(r);
  return { ...rest, result: result === null ? null : { status: result.status, headers: result.headers } };
}

export function asyncView(r: AsyncRecord) {
  return {
    id: r.id,
    function: r.function,
    trigger: r.trigger,
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.createdAt).toISOString(),
    finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
    result:
      r.result === null
        ? null
        : { status: r.result.status, headers: r.result.headers, body: r.result.body.toString('base64') },
    error: r.error,
    history: r.history.map((h) => ({ at: new Date(h.at).toISOString(), outcome: h.outcome })),
    callbackStatus: r.callbackStatus,
    parentId: r.chain?.parentId ?? null,
    rootId: r.chain?.rootId ?? null,
    caller: r.chain?.caller ?? null,
    nextAt: new Date(r.nextAt).toISOString(),
    traceId: r.trace?.traceId ?? null,
  };
}

export function asyncNotFound(id: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_INVOCATION_NOT_FOUND',
    `no asynchronous invocation with id ${JSON.stringify(id)}`,
  );
}
