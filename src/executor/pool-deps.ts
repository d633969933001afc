import type { Invocation } from '../model/invocation.js';
import type { Deployment } from '../model/deployment.js';
import type { ExecutorEvents } from './events.js';
import type { Instance } from './instance.js';
import type { PoolInstance } from './pool-instance.js';
import type { Lease } from './budget.js';

/** What a pool is given (by the executor; by a test, fakes). */
export interface PoolDeps<I extends PoolInstance<I> = Instance> {
  /** A new instance of the deployment, not started. */
  create(deployment: Deployment): I;
  /** A generic process of the warm pool that can load this deployment, if one is waiting. */
  takeWarm(deployment: Deployment): I | undefined;
  /** The invocation timeout, computed when the invocation is handed to an instance. */
  timeoutFor(deployment: Deployment, inv: Invocation): number;
  events: ExecutorEvents;
  /**
   * The platform's instance budget (budget.ts): a lease before each start, held until the instance
   * exits; resolves undefined when the start is no longer wanted. `urgent`: whether a call or a deploy
   * waits for the start (else it is for minInstances). Without it, starts are unbounded.
   */
  admit?(deployment: Deployment, wanted: () => boolean, urgent: () => boolean): Promise<Lease | undefined>;
  /** Whether the function holds more than its share of the budget while another function waits. */
  shouldYield?(deployment: Deployment): boolean;
  /** Told when an instance became idle: a start waiting for room may stop it now. */
  idle?(): void;
}
