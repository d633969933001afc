/**
 * What is checked again when a queued invocation is about to run, because it may have changed since
 * it was accepted (docs/composition.md, "Casts"): the target may have been deleted and made again
 * under the same name (a queued payload is never handed to a function that did not exist when it was
 * queued), and a cast's target may no longer accept casts from its caster (`access.callers`).
 */
import { SkiffError } from '../shared/errors.js';
import type { AsyncRecord } from '../store/queue-store.js';

export interface QueuedAdmissionOptions {
  /** When the function of this name was made (epoch ms), or undefined when there is none. */
  createdAt(name: string): number | undefined;
  /** The functions its live version accepts calls and casts from (null: any). */
  callers(name: string): readonly string[] | null;
}

/** A check for AsyncQueue's `admit`: throws a final SkiffError when the invocation may not run. */
export function queuedAdmission(opts: QueuedAdmissionOptions): (record: AsyncRecord) => void {
  return (record) => {
    const created = opts.createdAt(record.function);
    // no function at all: the attempt fails SKIFF_E_FUNCTION_NOT_FOUND as any other would
    if (created === undefined) return;
    if (created > record.createdAt) {
      throw new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        `function ${record.function} was deleted and made again after this invocation was queued; it is not delivered to the new one`,
      );
    }
    if (record.chain === null) return;
    const callers = opts.callers(record.function);
    if (callers !== null && !callers.includes(record.chain.caller)) {
      throw new SkiffError(
        'SKIFF_E_FORBIDDEN',
        `${record.function} no longer accepts casts from ${record.chain.caller}: its skiff.json access.callers lists ${callers.length === 0 ? 'no function' : callers.join(', ')}`,
      );
    }
  };
}
