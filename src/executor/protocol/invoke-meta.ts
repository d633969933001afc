/** The meta of the INVOKE frame that hands an invocation to an instance (docs/runtime-protocol.md). */
import type { Invocation } from '../../model/invocation.js';
import type { InvokeMeta } from './messages.js';

/** `deadline`: when the invocation times out, epoch milliseconds. */
export function invokeMeta(inv: Invocation, deadline: number): InvokeMeta {
  const meta: InvokeMeta = {
    invocationId: inv.id,
    method: inv.method,
    url: `http://${inv.host}${inv.path}${inv.query === '' ? '' : `?${inv.query}`}`,
    headers: inv.headers,
    deadline,
    trigger: inv.trigger,
  };
  if (inv.caller !== undefined) meta.caller = inv.caller;
  return meta;
}
