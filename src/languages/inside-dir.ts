import path from 'node:path';
import { SkiffError } from '../shared/errors.js';

/** `rel` resolved in the function folder `dir`; a handler that points outside it is refused. */
export function insideDir(dir: string, rel: string): string {
  const full = path.resolve(dir, rel);
  if (!full.startsWith(dir + path.sep)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `handler ${JSON.stringify(rel)} points outside the function folder`,
    );
  }
  return full;
}
