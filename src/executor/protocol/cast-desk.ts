/**
 * The CAST side of one protocol connection (docs/runtime-protocol.md, "Casts"): a bridge asks the
 * platform to queue an asynchronous invocation of another function on behalf of one of its invocations
 * in flight. A CAST lives in the call id space of the CALL desk (call-desk.ts), which checks the id, the
 * caller and the instance's limits exactly as for a CALL; this file turns the CAST into the cast host's
 * request and its accepted ids into the REPLY: status 202, body `{"id": <first or null>, "ids": [...]}`.
 */
import { SkiffError } from '../../shared/errors.js';
import type { Result } from '../../model/invocation.js';
import type { CallerContext, CallService } from '../calls.js';
import type { CallDesk } from './call-desk.js';
import type { CastMeta } from './messages.js';

/** Serves one CAST frame through `desk` (REPLY with the ids, or FAIL). */
export function onCast(desk: CallDesk, callId: number, meta: CastMeta, body: Buffer): void {
  desk.serve(
    callId,
    { verb: 'cast', invocationId: meta.invocationId, function: meta.function },
    body,
    (caster, service) => runCast(caster, service, meta, body, desk.nextCast(caster.invocation.id)),
  );
}

async function runCast(
  caster: CallerContext,
  service: CallService,
  meta: CastMeta,
  body: Buffer,
  seq: number,
): Promise<Result> {
  if (service.casts === undefined) {
    throw new SkiffError('SKIFF_E_INTERNAL', 'this platform serves no casts between functions');
  }
  const ids = await service.casts.cast(caster, {
    function: meta.function,
    method: (meta.method ?? 'POST').toUpperCase(),
    path: meta.path ?? '/',
    headers: meta.headers ?? [],
    body,
    delayMs: meta.delayMs ?? 0,
    seq,
  });
  return castAccepted(ids);
}

/** The REPLY of a cast whose invocations are on disk. */
export function castAccepted(ids: readonly string[]): Result {
  return {
    status: 202,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify({ id: ids[0] ?? null, ids })),
  };
}
