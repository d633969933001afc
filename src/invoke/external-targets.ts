/**
 * External targets: names that invocations, calls and casts reach like functions', but that a dialect
 * serves itself instead of the executor (an instance of another platform attached by URL, a log
 * resource). The router asks this table before the registry; access (`callers`, `private`), the
 * queue's admission check, workflow membership and state retention ask it too, so such a name is one
 * more target of the same rails, never a way around them. The core only keeps the table: who serves a
 * name, and how, is the owner's business (docs/architecture.md, "External targets").
 */
import { SkiffError } from '../shared/errors.js';
import type { Invocation, Result } from '../model/invocation.js';

/** One name a dialect serves. */
export interface ExternalTarget {
  /** Who registered it (a dialect's name); opaque to the core, shown in errors. */
  owner: string;
  /** The functions that may call or cast to it (as skiff.json `access.callers`); null: any. */
  callers: readonly string[] | null;
  /** Whether an invocation from outside needs a token (as skiff.json `access.private`). */
  private: boolean;
  /** When it was made (epoch ms): a queued invocation older than that is not handed to it. */
  createdAt: number;
  /**
   * Runs one invocation (any trigger: a queued cast, a call, an HTTP request) and answers as the
   * executor would: a Result, or a SkiffError (platform refusals such as SKIFF_E_TOO_MANY_REQUESTS
   * make the async queue try again later).
   */
  invoke(inv: Invocation): Promise<Result>;
}

export class ExternalTargets {
  private readonly targets = new Map<string, ExternalTarget>();

  /** Takes up `name`; refused when another owner holds it (a name is one owner's at a time). */
  set(name: string, target: ExternalTarget): void {
    const held = this.targets.get(name);
    if (held !== undefined && held.owner !== target.owner) {
      throw new SkiffError(
        'SKIFF_E_CONFLICT',
        `the name ${JSON.stringify(name)} is already served by ${held.owner}; choose another`,
      );
    }
    this.targets.set(name, target);
  }

  /** Gives `name` up (only its owner's registration; false when it held none). */
  delete(name: string, owner: string): boolean {
    if (this.targets.get(name)?.owner !== owner) return false;
    return this.targets.delete(name);
  }

  get(name: string): ExternalTarget | undefined {
    return this.targets.get(name);
  }

  has(name: string): boolean {
    return this.targets.has(name);
  }
}
