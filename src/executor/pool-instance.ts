/**
 * What a pool needs of an instance: the narrow surface `Pool` uses, so a test can hand it fakes. The
 * real one is `Instance` (instance.ts); `Self` lets `onChange` hand back the pool's own instance type.
 */
import type { Deployment } from '../model/deployment.js';
import type { Invocation, Result } from '../model/invocation.js';

/** `warm`: a generic bridge process that said HELLO and waits for a function to load (warm pool). */
export type InstanceState = 'starting' | 'warm' | 'ready' | 'stopping' | 'exited';

export interface PoolInstance<Self> {
  readonly id: string;
  readonly state: InstanceState;
  readonly pid: number | null;
  /** Set once the instance became ready. */
  readonly startedAt: Date | null;
  /** When the instance last had nothing in flight (or became ready): the idle clock. */
  readonly idleSince: number;
  readonly inFlight: number;
  /** Ready and not under a liveness probe: may take another invocation. */
  readonly accepting: boolean;
  readonly oomKilled: boolean;
  /** How the process ended, once it has. */
  readonly exitReason: string | undefined;
  /** Called when the instance's capacity changes: ready, an invocation settled, exited. */
  onChange: ((instance: Self) => void) | undefined;
  /** Starts the instance for its deployment; resolves once it is ready. */
  start(): Promise<void>;
  /** Loads a deployment into a warm-pool instance; resolves once it is ready. */
  specialise(deployment: Deployment): Promise<void>;
  invoke(inv: Invocation, timeoutMs: number): Promise<Result>;
  /** Asks the instance to finish in-flight work and end; ends it after graceMs. */
  stop(graceMs: number): Promise<void>;
  kill(): void;
}
