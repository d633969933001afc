import type { Builder } from './builders.js';
import { SkiffError } from '../../shared/errors.js';

/** Placeholder until the python runtime lands. */
export const buildPython: Builder = () =>
  Promise.reject(new SkiffError('SKIFF_E_INVALID_SPEC', 'the python runtime is not available yet'));
