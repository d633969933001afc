/**
 * An invocation's place in a distributed trace (W3C Trace Context, docs/operations.md): the
 * trace it belongs to, its own span and the span it was called from.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros. */
  traceId: string;
  /** This invocation's own span: 16 lowercase hex digits, not all zeros. */
  spanId: string;
  /** The span this invocation was called from (a client's traceparent or the calling invocation's span). */
  parentSpanId?: string;
  /** W3C trace-flags; only the sampled bit (1) is kept. */
  flags: number;
  /** The W3C tracestate carried on as it came (already checked), or absent. */
  state?: string;
}

/** Where an invocation queued for later (async, cast) continues its trace: the trace, its parent span. */
export type QueuedTrace = Omit<TraceContext, 'spanId'>;

/** The W3C `traceparent` of a span: what an invocation hands on to the calls it makes. */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-0${trace.flags & 1}`;
}

/**
 * The `node:diagnostics_channel` on which the executor publishes each invocation it ran, once it
 * settled (only while someone subscribes: the OTLP export).
 */
export const INVOCATION_SPAN_CHANNEL = 'skiff:invocation-span';

/** What the channel carries of one invocation: names, times and outcome; never payloads or headers. */
export interface InvocationSpan {
  function: string;
  version: number;
  /** The trigger kind (`http`, `call`, `cast`, ...). */
  trigger: string;
  invocationId: string;
  trace: TraceContext;
  /** Epoch milliseconds: when the executor got it, and when it settled. */
  startMs: number;
  endMs: number;
  /** The function's response status, when it answered. */
  status?: number;
  /** The `SKIFF_E_*` code it failed with, when it did. */
  errorCode?: string;
  /** It waited in its pool's queue while an instance of its function was being started for it. */
  coldStart: boolean;
}
