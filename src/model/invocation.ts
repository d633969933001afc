import type { TraceContext } from './trace.js';

/** Headers in order, names as received, repeated names kept: what every trigger and the runtime protocol carry. */
export type HeaderPairs = [string, string][];

/**
 * How an invocation came in: a protocol, the async queue (`async`) for queued HTTP calls, or another
 * function's `ctx.call` (`call`) or `ctx.cast` (`cast`, through the async queue).
 */
export type TriggerKind = 'http' | 'async' | 'grpc' | 'coap' | 'mqtt' | 'cron' | 'call' | 'cast';

/** One protocol-neutral invocation, made by a trigger adapter and served by the executor. */
export interface Invocation {
  id: string;
  function: string;
  trigger: TriggerKind;
  method: string;
  /** Path below the function's own prefix, always starting with `/`. */
  path: string;
  /** Raw query string without the `?`, possibly empty. */
  query: string;
  headers: HeaderPairs;
  body: Buffer;
  /** Absolute deadline in epoch milliseconds set by the caller (e.g. a gRPC deadline); 0: the function's own timeout. */
  deadline: number;
  /** Host the client addressed, for the URL the function sees. */
  host: string;
  /** Trigger `call` or `cast`: the calling function's name. */
  caller?: string;
  /** Trigger `call` or `cast`: the id of the invocation that made the call or cast. */
  parentId?: string;
  /** Trigger `call` or `cast`: the id of the first invocation of the chain (the one no function made). */
  rootId?: string;
  /**
   * How many calls or casts deep this invocation is: absent or 0 for one no function made, 1 for its
   * callee.
   */
  depth?: number;
  /**
   * Aborted when nobody waits for the result any more (the calling invocation ended): a queued
   * invocation leaves the queue, a running one is cancelled (CANCEL), both fail SKIFF_E_CANCELLED.
   */
  signal?: AbortSignal;
  /**
   * Its place in a distributed trace; set by the router for every invocation that has none yet
   * (from a `traceparent` header, else a new trace), by a call or cast from the caller's.
   */
  trace?: TraceContext;
}

/** The neutral result that a trigger adapter maps back onto its protocol. */
export interface Result {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
}
