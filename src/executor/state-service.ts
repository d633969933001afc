/**
 * What the executor needs to serve `ctx.state` (a STATE frame from an instance): a `FunctionState` (the
 * model's interface; the composition root passes the SQLite store in, so the executor never imports
 * src/store) and the instance's cap of state operations in flight.
 */
import type { FunctionState } from '../model/state.js';

/** The platform's state and how to tell that a function still exists. */
export interface StateSource {
  state: FunctionState;
  /**
   * Whether the function still exists (is in the registry): checked synchronously right before a
   * write, so an invocation draining after its function was deleted cannot leave rows behind that a
   * new function of the same name would read.
   */
  exists(fn: string): boolean;
}

export interface StateService extends StateSource {
  /** State operations in flight at once per instance; more are refused with SKIFF_E_TOO_MANY_REQUESTS. */
  maxInFlight: number;
}
