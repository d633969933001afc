/**
 * What the executor needs to serve `ctx.call` (a CALL frame from an instance): a host that runs the
 * call as an invocation of another function. The executor defines the interface and the invoke layer
 * implements it over the router (src/invoke/function-calls.ts), so the executor never imports it.
 */
import type { HeaderPairs, Invocation, Result } from '../model/invocation.js';

/** The invocation on whose behalf a function calls, as the instance's connection knows it. */
export interface CallerContext {
  /** The caller's invocation (its function, id, chain fields). */
  invocation: Invocation;
  /** The caller's absolute deadline in epoch milliseconds: the callee may not outlive it. */
  deadline: number;
}

/** The call a function asked for: which function, and the HTTP-shaped request it gets. */
export interface CallRequest {
  function: string;
  method: string;
  /** Path and query below the callee's prefix, starting with `/`. */
  path: string;
  headers: HeaderPairs;
  body: Buffer;
}

export interface CallHost {
  /**
   * Runs the call and resolves with the callee's response (any status: a callee's 500 is a response).
   * Rejects with a `SkiffError` when the platform refuses or cannot complete it (no such function,
   * depth limit, queue full, timeout): the caller's bridge gets that code in a FAIL frame. `signal` is
   * aborted when the caller ended (settled, timed out, its instance gone): the callee is cancelled.
   */
  call(caller: CallerContext, request: CallRequest, signal?: AbortSignal): Promise<Result>;
}

/** The longest delay a cast may ask for: 24 hours (a longer one is refused, SKIFF_E_INVALID_REQUEST). */
export const MAX_CAST_DELAY_MS = 24 * 60 * 60 * 1000;

/** The cast a function asked for: a call's request, queued instead of run, no earlier than `delayMs`. */
export interface CastRequest extends CallRequest {
  /** Milliseconds from now before it may run (0: as soon as the queue gets to it). */
  delayMs: number;
  /**
   * Which cast of its invocation's attempt this is (0, 1, …): a retried attempt that casts the same
   * again gets the invocations its earlier attempt queued, not new ones.
   */
  seq?: number;
}

/**
 * What the executor needs to serve `ctx.cast` (a CAST frame): a host that writes one asynchronous
 * invocation per target durably to the async queue (src/invoke/function-casts.ts implements it).
 */
export interface CastHost {
  /**
   * Resolves with the ids accepted, in target order, once every one is on disk (an empty list when the
   * name maps to no target). Rejects with a `SkiffError` when the platform refuses the cast (no such
   * function, access.callers, depth limit, a full queue ...): the caster's bridge gets it in a FAIL.
   */
  cast(caster: CallerContext, request: CastRequest): Promise<string[]>;
}

/** Limits of the calls one instance may make. */
export interface CallLimits {
  /** Calls in flight at once per instance; more are refused with SKIFF_E_TOO_MANY_REQUESTS. */
  maxInFlight: number;
  /** The largest request body of a call (the HTTP request body limit). */
  maxBodyBytes: number;
}

/** A connection's way to serve CALL frames: the host and the instance's limits. */
export interface CallService {
  host: CallHost;
  /** Serves CAST frames (in the same call id space and limits); without it every CAST gets a FAIL. */
  casts?: CastHost | undefined;
  limits: CallLimits;
}
