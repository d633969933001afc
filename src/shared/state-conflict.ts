/** The refusal of a compare-and-set on function state, the same from the API and from `ctx.state`. */
import type { StateCondition } from '../model/state.js';
import { SkiffError } from './errors.js';

/** SKIFF_E_STATE_CONFLICT for `where` (e.g. `key "n" of counter`) at `currentVersion` (0: absent). */
export function stateConflict(where: string, currentVersion: number, condition: StateCondition): SkiffError {
  const message =
    currentVersion === 0
      ? `${where} does not exist (expected version ${condition.ifVersion})`
      : condition.ifVersion === 0
        ? `${where} already exists, at version ${currentVersion}`
        : `${where} is at version ${currentVersion}, not ${condition.ifVersion}; read it again and retry`;
  return new SkiffError('SKIFF_E_STATE_CONFLICT', message, { details: { currentVersion } });
}
