/**
 * The pieces of one async attempt that need no queue state: which errors are retried how, the
 * Invocation a queued record becomes, and the callback with the final record.
 */
import { incomingTrace, startSpan } from '../shared/trace-context.js';
import type { ErrorCode } from '../shared/errors.js';
import { outboundRequest } from '../shared/outbound.js';
import type { AsyncRecord } from '../store/queue-store.js';
import type { Invocation } from '../model/invocation.js';
import type { AsyncQueueDeps } from './async-settings.js';
import { asyncView } from './async-views.js';

/** Refusals of the platform (capacity, shutdown): retried until the event is too old, never counted. */
export const PLATFORM_REFUSALS = new Set<ErrorCode>([
  'SKIFF_E_TOO_MANY_REQUESTS',
  'SKIFF_E_QUEUE_TIMEOUT',
  'SKIFF_E_CRASH_LOOP',
  'SKIFF_E_SHUTTING_DOWN',
  'SKIFF_E_INTERNAL',
  'SKIFF_E_DISK_FULL',
]);
/** Errors no retry can fix. */
export const PERMANENT = new Set<ErrorCode>([
  'SKIFF_E_FUNCTION_NOT_FOUND',
  'SKIFF_E_PAYLOAD_TOO_LARGE',
  'SKIFF_E_FORBIDDEN',
]);
/** The longest wait before another try after a refusal of the platform. */
export const REFUSAL_BACKOFF_MAX_MS = 30_000;
/** After the store failed to claim (a full disk): the worker tries again this much later. */
export const STORE_RETRY_MS = 1_000;
/** What a caller refused with SKIFF_E_QUEUE_FULL is told to wait. */
export const QUEUE_FULL_RETRY_AFTER_SEC = 5;

/** The Invocation one attempt of a queued record runs (no deadline: the function's timeout applies). */
export function toInvocation(record: AsyncRecord): Invocation {
  return {
    id: record.id,
    function: record.function,
    trigger: triggerOf(record.trigger),
    method: record.method,
    path: record.path,
    query: record.query,
    headers: record.headers,
    body: record.body,
    deadline: 0,
    host: record.host,
    ...chainOf(record),
    // each attempt is a span of its own in the trace the record was accepted in
    trace: startSpan(record.trace ?? incomingTrace(record.headers)),
  };
}

/** The trigger the function sees for a record queued by `trigger`. */
function triggerOf(trigger: string): Invocation['trigger'] {
  return trigger === 'cron' || trigger === 'mqtt' || trigger === 'cast' ? trigger : 'async';
}

/** A cast's place in its invocation tree, as the Invocation carries it (nothing for other records). */
function chainOf(record: AsyncRecord): Pick<Invocation, 'caller' | 'parentId' | 'rootId' | 'depth'> {
  const { chain } = record;
  if (chain === null) return {};
  return { caller: chain.caller, parentId: chain.parentId, rootId: chain.rootId, depth: chain.depth };
}

/**
 * POSTs the final record to the callback URL given at accept, once (best effort, 10 s), under the
 * outbound policy: the address is checked again on what DNS gives now, no redirect is followed (a
 * 3xx is recorded as the callback's status) and the answer is read up to 64 KiB.
 */
export async function postCallback(
  deps: Pick<AsyncQueueDeps, 'store' | 'outbound' | 'logger'>,
  id: string,
): Promise<void> {
  const record = deps.store.get(id);
  if (record?.callbackUrl == null) return;
  try {
    const res = await outboundRequest(
      record.callbackUrl,
      'X-Callback-Url',
      deps.outbound ?? { allowPrivate: false },
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-skiff-invocation-id': id },
        body: JSON.stringify(asyncView(record)),
        timeoutMs: 10_000,
        maxResponseBytes: 64 * 1024,
      },
    );
    deps.store.setCallbackStatus(id, res.status);
  } catch (err) {
    deps.logger.warn({ err, invocation: id }, 'async callback failed');
    deps.store.setCallbackStatus(id, 0);
  }
}
