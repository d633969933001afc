import type { Deployment } from '../model/deployment.js';
import type { Limits } from '../model/limits.js';
import { runtimeOf } from '../languages/index.js';

/**
 * Whether a warm-pool process (started with the default limits, no network) can take on this
 * function: the limits fixed at spawn (rlimits, /tmp) must be the defaults. The memory limit is
 * applied at specialisation (the cgroup), but some runtimes size their process by it at its start
 * (Node's heap): for those the process must be of the function's size (warmMemoryOf).
 */
export function fitsWarm(deployment: Deployment, defaults: Limits): boolean {
  if (deployment.network !== 'none') return false;
  const l = deployment.limits;
  return (
    l.tmpMb === defaults.tmpMb && l.openFiles === defaults.openFiles && l.fileSizeMb === defaults.fileSizeMb
  );
}

/** The size of warm process a function needs: undefined for the default one (warm-pool.ts). */
export function warmMemoryOf(deployment: Deployment, defaults: Limits): number | undefined {
  const memoryMb = deployment.limits.memoryMb;
  const sized = runtimeOf(deployment.runtime).warmSizedByMemory === true;
  return sized && memoryMb !== defaults.memoryMb ? memoryMb : undefined;
}
