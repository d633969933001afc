import { SkiffError } from '../../shared/errors.js';
import type { RuntimeLauncher } from './launcher.js';

/** Placeholder until the custom runtime lands. */
export const custom: RuntimeLauncher = {
  launch() {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', 'the custom runtime is not available yet');
  },
};
