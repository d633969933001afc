import { SkiffError } from '../../shared/errors.js';
import type { RuntimeLauncher } from './launcher.js';

/** Placeholder until the python runtime lands. */
export const python: RuntimeLauncher = {
  launch() {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', 'the python runtime is not available yet');
  },
};
