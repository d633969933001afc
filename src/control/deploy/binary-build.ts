import type { Builder } from './builders.js';
import { SkiffError } from '../../shared/errors.js';

/** Placeholder until the binary runtime lands. */
export const buildBinary: Builder = () =>
  Promise.reject(new SkiffError('SKIFF_E_INVALID_SPEC', 'the binary runtime is not available yet'));
