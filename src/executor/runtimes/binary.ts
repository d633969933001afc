import { SkiffError } from '../../shared/errors.js';
import type { RuntimeLauncher } from './launcher.js';

/** Placeholder until the binary runtime lands. */
export const binary: RuntimeLauncher = {
  launch() {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', 'the binary runtime is not available yet');
  },
};
