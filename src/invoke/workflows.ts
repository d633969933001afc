/**
 * Where a cast goes: the workflows' output mappings held in memory as one immutable table, replaced as
 * a whole (`load`) after every apply or delete. A cast reads the table once (`targets`), so it sees the
 * mapping before a change or the one after, never a mix, and the next cast after a change takes the new
 * one: no instance is restarted, nothing else is reloaded.
 */
import type { WorkflowSpec } from '../model/workflow.js';

/** The functions a cast from `callerFunction` to `name` goes to (the cast's injected resolver). */
export type CastTargets = (callerFunction: string, name: string) => string[];

/** Member function → (alias → targets), frozen. */
type Table = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export class WorkflowResolver {
  private table: Table = new Map();

  /** Builds the table of these workflows and swaps it in at once. */
  load(workflows: readonly WorkflowSpec[]): void {
    const next = new Map<string, ReadonlyMap<string, readonly string[]>>();
    for (const workflow of workflows) {
      for (const [member, aliases] of Object.entries(workflow.functions)) {
        const mapped = new Map<string, readonly string[]>();
        for (const [alias, targets] of Object.entries(aliases))
          mapped.set(alias, Object.freeze([...targets]));
        next.set(member, mapped);
      }
    }
    this.table = next;
  }

  /**
   * For a caller that is a workflow member and an alias mapped for it: the mapped functions (possibly
   * none). Otherwise `[name]`: a plain function name, for functions outside any workflow and for names
   * a member's workflow does not map. A fresh array each time.
   */
  readonly targets: CastTargets = (callerFunction, name) => {
    const mapped = this.table.get(callerFunction)?.get(name);
    return mapped === undefined ? [name] : [...mapped];
  };
}
