/**
 * Workflow files in another platform's format: a dialect that adds one (src/compat/dialect.ts
 * `workflowFormats`) is asked, for every `PUT /v1/workflows/{name}`, whether the body is in its
 * format; the first that says so turns it into a Skiff workflow spec, which is stored and resolves
 * casts as any other. The names its members are served under (external targets) need not be deployed
 * functions; everything else a spec names must be (docs/composition.md, "Workflows in other formats").
 */
import type { WorkflowSpec } from '../model/workflow.js';

/** A body checked and translated, not applied yet. */
export interface PreparedWorkflow {
  /** The Skiff workflow it becomes (its name is the path's). */
  spec: WorkflowSpec;
  /** Names the format serves itself (external targets): never deployed functions' names. */
  provides: readonly string[];
  /** What was accepted but is probably not what the author meant, each naming its field. */
  warnings: readonly string[];
  /**
   * Called once the store holds `spec`, in the same turn (nothing awaits between): the format takes
   * its names up and starts what it runs. Not called when the apply is refused after `prepare`.
   */
  commit(): void;
}

export interface WorkflowFormat {
  /** What the format is called in messages ("<platform> workflow JSON"). */
  label: string;
  /** The largest body it reads, in bytes. */
  maxBytes: number;
  /** Whether the parsed body is in this format (Skiff's own spec is never: its `functions` is an object). */
  accepts(body: unknown): boolean;
  /** Checks the body and translates it; throws a SkiffError naming each field to fix. */
  prepare(name: string, body: unknown): PreparedWorkflow | Promise<PreparedWorkflow>;
  /**
   * The workflow `name` was deleted, or replaced by one not in this format: the format stops what its
   * `commit` started and gives up its names. A no-op for names it does not hold.
   */
  release(name: string): void;
}
