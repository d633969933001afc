import { SkiffError } from '../../shared/errors.js';
import type { RuntimeLauncher } from './launcher.js';

/** Placeholder until the http runtime lands. */
export const http: RuntimeLauncher = {
  launch() {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', 'the http runtime is not available yet');
  },
};
