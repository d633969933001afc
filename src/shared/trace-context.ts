/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for invocations: what a client's
 * `traceparent` and `tracestate` headers (or gRPC metadata, MQTT 5 user properties) say, checked by
 * the OpenTelemetry parser; new trace and span ids; the context a call or cast hands on.
 */
import { randomFillSync } from 'node:crypto';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import type { HeaderPairs } from '../model/invocation.js';
import type { QueuedTrace, TraceContext } from '../model/trace.js';

/** The longest `traceparent` looked at: a version 00 one has 55 characters; a later version may add fields. */
export const MAX_TRACEPARENT_CHARS = 256;
/** The longest `tracestate` kept (W3C: at most 512 characters, 32 members); a longer one is dropped. */
export const MAX_TRACESTATE_CHARS = 512;
export const MAX_TRACESTATE_MEMBERS = 32;

/** Random bytes taken 8 or 16 at a time: one call to the CSPRNG per 256 ids, not one per id. */
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const hex = pool.toString('hex', used, used + bytes);
    used += bytes;
    // all zeros is invalid in W3C trace context (1 in 2^64 at worst): draw again
    if (!/^0+$/.test(hex)) return hex;
  }
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}

/**
 * The trace an invocation coming in with these headers continues: the `traceparent`'s trace and span
 * as its parent, with the `tracestate`; a new trace when there is none or it is invalid (two
 * `traceparent` headers, a version `ff`, ids of zeros, anything not hex, too long).
 */
export function incomingTrace(headers: HeaderPairs): QueuedTrace {
  let parent: string | undefined;
  let parents = 0;
  let state: string | undefined;
  for (const [name, value] of headers) {
    if (name.length === 11 && name.toLowerCase() === 'traceparent') {
      parent = value;
      parents++;
    } else if (name.length === 10 && name.toLowerCase() === 'tracestate') {
      // several tracestate headers are one list (RFC 9110 field lines combined); past the cap it is
      // dropped anyway, so it stops growing there
      if (state === undefined || state.length <= MAX_TRACESTATE_CHARS)
        state = state === undefined ? value : `${state},${value}`;
    }
  }
  const parsed = parents === 1 && parent !== undefined ? parseParent(parent) : undefined;
  if (parsed === undefined) return { traceId: newTraceId(), flags: 1 };
  const kept = state === undefined ? undefined : checkedState(state);
  return { ...parsed, ...(kept === undefined ? {} : { state: kept }) };
}

function parseParent(value: string): Omit<QueuedTrace, 'state'> | undefined {
  if (value.length > MAX_TRACEPARENT_CHARS) return undefined;
  const parsed = parseTraceParent(value);
  if (parsed === null) return undefined;
  return { traceId: parsed.traceId, parentSpanId: parsed.spanId, flags: parsed.traceFlags & 1 };
}

/** The tracestate as the OpenTelemetry parser keeps it (bad members dropped), or undefined: empty, too long, too many. */
function checkedState(raw: string): string | undefined {
  if (raw.length > MAX_TRACESTATE_CHARS) return undefined;
  let members = 1;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === 44) members++;
  if (members > MAX_TRACESTATE_MEMBERS) return undefined;
  const kept = new TraceState(raw).serialize();
  return kept === '' ? undefined : kept;
}

/** The context of one run of an invocation: its trace and parent, and a span of its own. */
export function startSpan(trace: QueuedTrace): TraceContext {
  return { ...trace, spanId: newSpanId() };
}

/** Where a call or cast made by the invocation of `parent` continues: same trace, the caller's span as parent. */
export function childTrace(parent: TraceContext): QueuedTrace {
  return {
    traceId: parent.traceId,
    parentSpanId: parent.spanId,
    flags: parent.flags,
    ...(parent.state === undefined ? {} : { state: parent.state }),
  };
}
