/** The meta of the INVOKE frame that hands an invocation to an instance (docs/runtime-protocol.md). */
import type { Invocation } from '../../model/invocation.js';
import type { InvokeMeta } from './messages.js';
import { traceparentOf } from '../../model/trace.js';

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
  if (inv.trace !== undefined) {
    meta.traceparent = traceparentOf(inv.trace);
    if (inv.trace.state !== undefined) meta.tracestate = inv.trace.state;
  }
  return meta;
}

/** What JSON must escape in a string: `"`, `\`, control characters, and surrogates (a lone one is escaped). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON: as it is between quotes when nothing in it needs escaping, else by JSON.stringify. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * `JSON.stringify(invokeMeta(inv, deadline))`, character for character, written by hand: the meta of
 * every warm call, where the generic serialiser cost more than the rest of the frame's encoding.
 */
export function invokeMetaJson(inv: Invocation, deadline: number): string {
  const meta = invokeMeta(inv, deadline);
  let headers = '';
  for (const [name, value] of meta.headers) {
    headers += `${headers === '' ? '' : ','}[${quote(name)},${quote(value)}]`;
  }
  const caller = meta.caller === undefined ? '' : `,"caller":${quote(meta.caller)}`;
  // a traceparent is made of hex digits and dashes (never escaped); a tracestate is checked text
  const parent = meta.traceparent === undefined ? '' : `,"traceparent":"${meta.traceparent}"`;
  const state = meta.tracestate === undefined ? '' : `,"tracestate":${quote(meta.tracestate)}`;
  return (
    `{"invocationId":${quote(meta.invocationId)},"method":${quote(meta.method)},"url":${quote(meta.url)},` +
    `"headers":[${headers}],"deadline":${Number.isFinite(meta.deadline) ? String(meta.deadline) : 'null'},"trigger":${quote(meta.trigger)}${caller}${parent}${state}}`
  );
}
