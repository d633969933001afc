/** V8's `gc` for the platform's and the bridges' own use, never a global of anyone's code. */
import v8 from 'node:v8';
import vm from 'node:vm';

export type Gc = (options: {
  type: 'minor' | 'major';
  execution?: 'sync';
  flavor?: 'regular' | 'last-resort';
}) => void;

/**
 * `gc` from a context created for it, with `--expose-gc` set only meanwhile: the function's global
 * never has it. Undefined if this Node.js does not allow it. Not kept: the context it belongs to would
 * stay in memory with it (a new one costs about a millisecond, once per quiet period).
 */
export function exposedGc(): Gc | undefined {
  let gc: Gc | undefined;
  try {
    v8.setFlagsFromString('--expose-gc');
    try {
      const found: unknown = vm.runInNewContext('gc');
      if (typeof found === 'function') gc = found as Gc;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  } catch {
    // without it memory stays as V8 leaves it
  }
  return gc;
}
