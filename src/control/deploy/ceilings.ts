import type { Scaling } from '../../model/scaling.js';
import type { Limits, LimitsInput } from '../../model/limits.js';
import { SkiffError } from '../../shared/errors.js';

/**
 * The operator's ceilings over what a function may ask for itself: a deploy (or a scaling change)
 * asking for more is refused, naming the setting and its maximum, rather than clamped silently.
 */
export function checkLimitCeilings(limits: LimitsInput | undefined, max: Limits): void {
  const over = Object.entries(limits ?? {})
    .filter(([key, value]) => typeof value === 'number' && value > max[key as keyof Limits])
    .map(([key, value]) => `limits.${key} is ${value}, above the maximum ${max[key as keyof Limits]}`);
  if (over.length > 0) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `skiff.json asks for more than this platform allows: ${over.join('; ')} (the operator's sandbox.maxLimits)`,
    );
  }
}

export function checkScalingCeiling(scaling: Scaling, maxInstances: number): void {
  if (scaling.maxInstances > maxInstances) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SCALING',
      `maxInstances is ${scaling.maxInstances}, above the maximum ${maxInstances} of this platform (the operator's functions.maxInstancesCeiling)`,
    );
  }
}
