/**
 * Workflows on SQLite: `<dataDir>/workflows.db` (WAL, synchronous=FULL: an applied workflow survives a
 * crash). One row per workflow with its spec as JSON, and one row per member function naming its
 * workflow: the primary key on the function is what keeps a function in one workflow at most. Every
 * method is synchronous (better-sqlite3), so an apply checks and writes in one transaction with no other
 * write of this process in between.
 */
import Database from 'better-sqlite3';
import { WORKFLOW_LIMITS, type Workflow, type WorkflowSpec } from '../model/workflow.js';
import { SkiffError } from '../shared/errors.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workflows (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_members (
  function TEXT PRIMARY KEY,
  workflow TEXT NOT NULL REFERENCES workflows (name) ON DELETE CASCADE
) WITHOUT ROWID;
`;

interface Row {
  name: string;
  spec: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface WorkflowStoreOptions {
  /** Workflows at most (default WORKFLOW_LIMITS.maxWorkflows). */
  maxWorkflows?: number;
  /** The clock, for tests. */
  now?: () => Date;
}

const toWorkflow = (row: Row): Workflow => ({
  spec: JSON.parse(row.spec) as WorkflowSpec,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class WorkflowStore {
  private readonly db: Database.Database;
  private readonly maxWorkflows: number;
  private readonly now: () => Date;

  constructor(file: string, options: WorkflowStoreOptions = {}) {
    this.maxWorkflows = options.maxWorkflows ?? WORKFLOW_LIMITS.maxWorkflows;
    this.now = options.now ?? (() => new Date());
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  /** Every workflow, by name. */
  list(): Workflow[] {
    const rows = this.db
      .prepare('SELECT name, spec, version, created_at, updated_at FROM workflows ORDER BY name')
      .all() as Row[];
    return rows.map(toWorkflow);
  }

  get(name: string): Workflow | undefined {
    const row = this.db
      .prepare('SELECT name, spec, version, created_at, updated_at FROM workflows WHERE name = ?')
      .get(name) as Row | undefined;
    return row === undefined ? undefined : toWorkflow(row);
  }

  /** The workflow a function is a member of, if any. */
  workflowOf(fn: string): string | undefined {
    const row = this.db.prepare('SELECT workflow FROM workflow_members WHERE function = ?').get(fn) as
      { workflow: string } | undefined;
    return row?.workflow;
  }

  /**
   * Creates or replaces a workflow. Refused with SKIFF_E_WORKFLOW_CONFLICT when a member already belongs
   * to another workflow (`details.members`: function → workflow), or when a new workflow would be one
   * over the cap. Nothing is written then.
   */
  apply(spec: WorkflowSpec): { workflow: Workflow; created: boolean } {
    return this.db.transaction(() => {
      const current = this.get(spec.name);
      const members = Object.keys(spec.functions);
      const taken: Record<string, string> = {};
      const owner = this.db.prepare('SELECT workflow FROM workflow_members WHERE function = ?');
      for (const fn of members) {
        const row = owner.get(fn) as { workflow: string } | undefined;
        if (row !== undefined && row.workflow !== spec.name) taken[fn] = row.workflow;
      }
      const clashes = Object.entries(taken);
      if (clashes.length > 0) {
        const named = clashes.map(([fn, wf]) => `${fn} (in ${wf})`).join(', ');
        throw new SkiffError(
          'SKIFF_E_WORKFLOW_CONFLICT',
          `a function is in one workflow at most, and ${named} ${clashes.length === 1 ? 'is' : 'are'} already in another; remove ${clashes.length === 1 ? 'it' : 'them'} from there first (\`skiff workflow get <workflow>\`)`,
          { details: { members: taken } },
        );
      }
      if (current === undefined) {
        const { n } = this.db.prepare('SELECT count(*) AS n FROM workflows').get() as { n: number };
        if (n >= this.maxWorkflows) {
          throw new SkiffError(
            'SKIFF_E_WORKFLOW_CONFLICT',
            `the platform already holds ${n} workflows, the most it keeps; delete one first (\`skiff workflow list\`)`,
            { details: { workflows: n, maxWorkflows: this.maxWorkflows } },
          );
        }
      }
      const at = this.now().toISOString();
      const workflow: Workflow = {
        spec,
        version: (current?.version ?? 0) + 1,
        createdAt: current?.createdAt ?? at,
        updatedAt: at,
      };
      this.db
        .prepare(
          `INSERT INTO workflows (name, spec, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, version = excluded.version,
             updated_at = excluded.updated_at`,
        )
        .run(spec.name, JSON.stringify(spec), workflow.version, workflow.createdAt, workflow.updatedAt);
      this.db.prepare('DELETE FROM workflow_members WHERE workflow = ?').run(spec.name);
      const add = this.db.prepare('INSERT INTO workflow_members (function, workflow) VALUES (?, ?)');
      for (const fn of members) add.run(fn, spec.name);
      return { workflow, created: current === undefined };
    })();
  }

  /** Deletes a workflow (its members are free again); false when there was none. */
  delete(name: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM workflow_members WHERE workflow = ?').run(name);
      return this.db.prepare('DELETE FROM workflows WHERE name = ?').run(name).changes > 0;
    })();
  }

  close(): void {
    this.db.close();
  }
}
