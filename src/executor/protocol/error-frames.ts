/**
 * What a bridge's ERROR frame for an invocation becomes (connection.ts settles the invocation with it):
 * its text cut to size, the line in the function's logs, and the error its caller gets.
 */
import type { SkiffError } from '../../shared/errors.js';
import { capText } from '../../shared/lines.js';
import type { Deployment } from '../../model/deployment.js';
import { badResponse, functionError, outOfMemory } from '../invocation-errors.js';
import type { ConnectionHooks, Pending } from './connection-types.js';
import type { ErrorMeta } from './messages.js';

/** Longest LOG frame text or error text kept from a bridge; the rest is cut with a marker. */
export const MAX_TEXT_BYTES = 16 * 1024;

/** An ERROR frame's meta with its message and stack cut to what is kept. */
export function cappedErrorMeta(full: ErrorMeta): ErrorMeta {
  return {
    ...full,
    message: capText(full.message, MAX_TEXT_BYTES),
    ...(full.stack === undefined ? {} : { stack: capText(full.stack, 4 * MAX_TEXT_BYTES) }),
  };
}

export interface ErrorFrameContext {
  hooks: ConnectionHooks;
  deployment: Deployment | undefined;
  /** The failure of a `ctx.call` the handler did not catch, if that is what ended it. */
  uncaught(invocationId: string, callFailure: string | undefined): SkiffError | undefined;
}

/**
 * Logs the failure of invocation `p` (an ERROR frame other than CANCELLED, meta already capped) to the
 * function's logs and returns the error its caller gets.
 */
export function invocationFailure(meta: ErrorMeta, p: Pending, ctx: ErrorFrameContext): SkiffError {
  const { hooks } = ctx;
  if (meta.code === 'FUNCTION_ERROR' && hooks.outOfMemory()) {
    // a program the bridge ran (binary runtime) was killed by the OOM killer
    const line = 'out of memory: the OOM killer ended a process';
    hooks.log('platform', 'error', line, p.inv);
    return outOfMemory(ctx.deployment);
  }
  if (meta.code === 'FUNCTION_ERROR') {
    hooks.log('stderr', 'error', meta.stack ?? meta.message, p.inv);
    return ctx.uncaught(p.invocationId, meta.callFailure) ?? functionError(meta, ctx.deployment);
  }
  hooks.log('stderr', 'error', meta.message, p.inv);
  return badResponse(meta.message);
}
