/**
 * The names a function and its runtime may have, without the spec's schemas (zod): the CLI checks
 * and lists them without loading those.
 */

/** A function's name: 1-63 lower-case letters, digits and dashes. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const RUNTIME_NAMES = ['node', 'python', 'binary', 'custom', 'http'] as const;
