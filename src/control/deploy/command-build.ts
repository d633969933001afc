import type { Builder } from './builders.js';
import { SkiffError } from '../../shared/errors.js';

/** Placeholder until the custom and http runtimes land. */
export const buildCommand: Builder = () =>
  Promise.reject(
    new SkiffError('SKIFF_E_INVALID_SPEC', 'the custom and http runtimes are not available yet'),
  );
