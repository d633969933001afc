import type { Deployment } from '../model/deployment.js';
import type { Flavors } from '../model/flavor.js';
import { compileCors } from '../model/cors.js';
import { clampLimits, resolveLimits } from '../model/limits.js';
import type { Scaling, ScalingInput } from '../model/scaling.js';
import type { Config } from '../shared/config.js';
import { resolveScaling } from '../shared/validate.js';
import type { VersionRecord } from '../store/registry.js';

/**
 * A deploy asking for more than the ceilings is refused (deploy/ceilings.ts); a version stored before
 * the operator lowered them runs within them all the same.
 */
function withinCeiling(s: Scaling, maxInstances: number): Scaling {
  const max = Math.min(s.maxInstances, maxInstances);
  return { ...s, maxInstances: max, minInstances: Math.min(s.minInstances, max) };
}

/** A flavor whose platform runs one request per instance at a time caps `concurrency`. */
function flavorConcurrency(s: Scaling, max: number | undefined): Scaling {
  return max === undefined || s.concurrency <= max ? s : { ...s, concurrency: max };
}

export function toDeployment(
  v: VersionRecord,
  codeDir: string,
  config: Config,
  secrets: Record<string, string>,
  scalingOverride: ScalingInput | null,
  flavors: Flavors,
): Deployment {
  const flavor = v.spec.flavor ?? 'native';
  const customShim = v.spec.runtime === 'custom' ? flavors.get(flavor)?.customShim : undefined;
  const cors = compileCors(v.spec.cors);
  return {
    function: v.function,
    version: v.version,
    hash: v.hash,
    runtime: v.spec.runtime,
    handler: v.entry,
    codeDir,
    env: v.spec.env,
    secrets,
    timeoutMs: v.spec.timeoutMs ?? config.functions.defaultTimeoutMs,
    startTimeoutMs: Math.min(
      v.spec.startTimeoutMs ?? config.functions.startTimeoutMs,
      Math.max(config.functions.startTimeoutMs, config.functions.maxTimeoutMs),
    ),
    command: v.spec.command ?? null,
    scaling: flavorConcurrency(
      withinCeiling(
        resolveScaling(config.scaling, v.spec.scaling, scalingOverride),
        config.functions.maxInstancesCeiling,
      ),
      flavors.get(flavor)?.maxConcurrency,
    ),
    limits: clampLimits(resolveLimits(config.sandbox.limits, v.spec.limits), config.sandbox.maxLimits),
    network: v.spec.network ?? 'none',
    flavor,
    // a version of a flavor no longer compiled in fails INIT at its bridge; its callers see no text
    showErrorText: flavors.get(flavor)?.showsErrorText ?? false,
    callers: v.spec.access?.callers ?? null,
    private: v.spec.access?.private === true,
    ...(flavors.get(flavor)?.replaceAfterTimeout === true ? { replaceAfterTimeout: true } : {}),
    ...(customShim === undefined ? {} : { customShim }),
    ...(cors === undefined ? {} : { cors }),
  };
}
