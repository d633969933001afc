/** Headers in order, names as received, repeated names kept: what every trigger and the runtime protocol carry. */
export type HeaderPairs = [string, string][];

/** How an invocation came in: a protocol, or the async queue (`async`) for queued HTTP calls. */
export type TriggerKind = 'http' | 'async' | 'grpc' | 'coap' | 'mqtt' | 'cron';

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
}

/** The neutral result that a trigger adapter maps back onto its protocol. */
export interface Result {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
}
