/**
 * The start condition of the platform's readiness (shared/health.ts) that needs the executor: the
 * minimum instances asked for at start (server-functions.ts afterStart) are ready, or failed to start,
 * or took longer than two start timeouts (a budget with no room would otherwise keep it unready).
 */
import type { Executor } from './executor/executor.js';
import type { Deployment } from './model/deployment.js';
import type { StartCondition } from './shared/health.js';

export function minimumInstancesStarted(
  executor: Pick<Executor, 'atMinimum'>,
  deployments: readonly Deployment[],
  startTimeoutMs: number,
  now: () => number = Date.now,
): StartCondition {
  const deadline = now() + 2 * startTimeoutMs;
  return () => {
    if (now() >= deadline) return undefined;
    const waiting = deployments.filter((d) => !executor.atMinimum(d)).length;
    return waiting === 0 ? undefined : 'the platform is starting the minimum instances of its functions';
  };
}
