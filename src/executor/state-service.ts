/**
 * What the executor needs to serve `ctx.state` (a STATE frame from an instance): a `FunctionState` (the
 * model's interface; the composition root passes the SQLite store in, so the executor never imports
 * src/store) and the instance's cap of state operations in flight.
 */
import type { FunctionState } from '../model/state.js';

export interface StateService {
  state: FunctionState;
  /** State operations in flight at once per instance; more are refused with SKIFF_E_TOO_MANY_REQUESTS. */
  maxInFlight: number;
}
