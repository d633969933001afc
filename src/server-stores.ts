/**
 * The embedded stores of the composition root (server.ts), opened in one place and closed in one place:
 * the registry, code artifacts, function logs, state, workflows and the async queue, all under the
 * data directory.
 */
import path from 'node:path';
import { ArtifactStore } from './store/artifacts.js';
import type { Ballast } from './store/ballast.js';
import { FileLogStore } from './store/file-logs.js';
import { FOLLOW_DEFAULTS, LogFollowHub } from './control/log-follow-hub.js';
import { QueueStore } from './store/queue-store.js';
import { SqliteRegistry } from './store/sqlite-registry.js';
import { StateStore } from './store/state-store.js';
import { WorkflowStore } from './store/workflow-store.js';
import type { Config } from './shared/config.js';

/** Run before any store opens (schema version, migrations: src/store/schema/migrate.ts). */
export { migrateDataDir } from './store/schema/migrate.js';

export interface Stores {
  registry: SqliteRegistry;
  artifacts: ArtifactStore;
  logs: FileLogStore;
  /**
   * The open streams of the logs (`skiff logs -f`), fed by `logs`. server.ts lists it first among its
   * triggers, so that the streams end first at stop: the control API's close would wait for them.
   */
  follow: LogFollowHub;
  state: StateStore;
  workflowStore: WorkflowStore;
  queueStore: QueueStore;
  /** Closes every store and the ballast (at stop, and when a start fails after they opened). */
  close(): Promise<void>;
}

export async function openStores(
  config: Config,
  codeGroup: number | undefined,
  ballast: Ballast,
): Promise<Stores> {
  const registry = new SqliteRegistry(path.join(config.dataDir, 'registry.db'));
  const artifacts = new ArtifactStore(config.dataDir, codeGroup);
  await artifacts.cleanStaging();
  const logs = new FileLogStore(path.join(config.dataDir, 'logs'));
  const follow = new LogFollowHub(logs, { ...FOLLOW_DEFAULTS, maxStreams: config.control.maxLogStreams });
  const state = new StateStore(path.join(config.dataDir, 'state.db'), {
    limits: config.state,
    diskRoom: (bytes) => ballast.hasRoom(bytes),
  });
  // workflows: the stored ones, and the table casts resolve output aliases with (`workflows.targets`)
  const workflowStore = new WorkflowStore(path.join(config.dataDir, 'workflows.db'));
  const queueStore = new QueueStore(path.join(config.dataDir, 'queue.db'));
  const close = async (): Promise<void> => {
    follow.close();
    await logs.close();
    queueStore.close();
    state.close();
    workflowStore.close();
    registry.close();
    ballast.close();
  };
  return { registry, artifacts, logs, follow, state, workflowStore, queueStore, close };
}
