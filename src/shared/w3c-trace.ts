/**
 * The W3C Trace Context headers as @opentelemetry/core reads them (its `parseTraceParent` and
 * `TraceState`, same rules), without loading it at every start (with the part of @opentelemetry/api it
 * brings, 80 modules): it loads only when spans are exported (otlp-sdk.ts). w3c-trace.test.ts checks
 * that both agree.
 */

// a version other than ff, a trace id and a parent id not all zeros, flags; more only after version 00
const TRACE_PARENT =
  /^\s?((?!ff)[\da-f]{2})-((?![0]{32})[\da-f]{32})-((?![0]{16})[\da-f]{16})-([\da-f]{2})(-.*)?\s?$/;

export interface TraceParent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** A `traceparent` header's ids and flags, or null when it is not a valid one. */
export function parseTraceParent(value: string): TraceParent | null {
  const match = TRACE_PARENT.exec(value);
  if (match === null) return null;
  if (match[1] === '00' && match[5] !== undefined && match[5] !== '') return null;
  return { traceId: match[2] ?? '', spanId: match[3] ?? '', traceFlags: parseInt(match[4] ?? '0', 16) };
}

const KEY_CHAR = '[_0-9a-z-*/]';
const VALID_KEY = new RegExp(
  `^(?:[a-z]${KEY_CHAR}{0,255}|[a-z0-9]${KEY_CHAR}{0,240}@[a-z]${KEY_CHAR}{0,13})$`,
);
const VALID_VALUE = /^[ -~]{0,255}[!-~]$/;
const COMMA_OR_EQUAL = /,|=/;
const MAX_MEMBERS = 32;
const MAX_LENGTH = 512;

/**
 * A `tracestate` header as the OpenTelemetry parser keeps it, serialised: members without `=` or with
 * an invalid key or value dropped, at most 32 members and 512 characters, a repeated key once.
 */
export function keptTraceState(raw: string): string {
  const entries = new Map<string, string>();
  let length = 0;
  for (const member of raw.split(',')) {
    const m = member.trim();
    const at = m.indexOf('=');
    if (at === -1) continue;
    const key = m.slice(0, at);
    const value = m.slice(at + 1);
    if (!VALID_KEY.test(key) || !VALID_VALUE.test(value) || COMMA_OR_EQUAL.test(value)) continue;
    const next = length + m.length + (entries.size > 0 ? 1 : 0);
    if (next > MAX_LENGTH) continue;
    entries.set(key, value);
    length = next;
    if (entries.size >= MAX_MEMBERS) break;
  }
  // OpenTelemetry keeps the entries reversed and serialises them reversed again: the first
  // occurrence's place, the last occurrence's value
  return [...entries].map(([key, value]) => `${key}=${value}`).join(',');
}
