/**
 * The control API assembled as server.ts assembles it, for tests in memory: the real routes, auth,
 * request guard, Deployer and Router, on the real SQLite registry and async queue (in memory), with
 * a temporary data directory for code and logs. Only the executor, which would start processes, is a
 * fake (test/helpers/fakes.ts) that records what it is told. Functions are put into the registry
 * directly (a version row as a finished build leaves it), so no deploy runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createControlApp } from '../../src/control/app.js';
import { Deployer } from '../../src/control/deploy/deployer.js';
import { functionRoutes } from '../../src/control/functions.js';
import { invocationRoutes } from '../../src/control/invocations.js';
import { metaRoutes } from '../../src/control/meta.js';
import { createRequestGuard } from '../../src/control/request-guard.js';
import { Router } from '../../src/invoke/router.js';
import { flavorSet } from '../../src/model/flavor.js';
import type { FunctionSpec } from '../../src/model/spec.js';
import { loadConfig } from '../../src/shared/config-load.js';
import { createLogger } from '../../src/shared/logger.js';
import { ArtifactStore } from '../../src/store/artifacts.js';
import { FileLogStore } from '../../src/store/file-logs.js';
import { QueueStore } from '../../src/store/queue-store.js';
import { SqliteRegistry } from '../../src/store/sqlite-registry.js';
import { StateStore } from '../../src/store/state-store.js';
import { inMemoryClient, type InMemoryRequest, type InMemoryResponse } from './in-memory-http.js';
import { fakeExecutor, versionOf } from './fakes.js';
import { TMP_PREFIX } from './tmp.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface ControlKit {
  dataDir: string;
  registry: SqliteRegistry;
  queue: QueueStore;
  state: StateStore;
  router: Router;
  executor: ReturnType<typeof fakeExecutor>;
  /** Sends one request; the admin token is added unless `auth` is false. */
  request: (req: InMemoryRequest & { auth?: boolean }) => Promise<InMemoryResponse>;
  /** Records a function with one version (live unless `failed`), as a finished deploy would. */
  addFunction: (name: string, options?: { failed?: boolean; spec?: Partial<FunctionSpec> }) => void;
  close: () => void;
}

export function controlKit(): ControlKit {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  const config = loadConfig({ env: {}, cwd: dataDir, flags: { dataDir } });
  const logger = createLogger('silent');
  // the real stores, in memory: the same SQL without a file to fsync on every write
  const registry = new SqliteRegistry(':memory:');
  const queue = new QueueStore(':memory:');
  const state = new StateStore(':memory:', { limits: config.state });
  const artifacts = new ArtifactStore(dataDir);
  const logs = new FileLogStore(path.join(dataDir, 'logs'));
  const executor = fakeExecutor();
  const flavors = flavorSet([]);
  const router = new Router(registry, artifacts, executor, config, flavors);
  const deployer = new Deployer({
    config,
    registry,
    artifacts,
    executor,
    router,
    logs,
    state,
    logger,
    flavors,
    // builds are not run here: no route under test deploys
    sandbox: {} as never,
  });
  const app = createControlApp(
    [
      ...metaRoutes(executor),
      ...invocationRoutes(queue),
      ...functionRoutes({
        registry,
        deployer,
        executor,
        logs,
        state,
        maxUploadBytes: 1024,
        scalingDefaults: config.scaling,
        liveDeployment: (name) => router.resolve(name),
      }),
    ],
    ADMIN_TOKEN,
    logger,
    [],
    createRequestGuard({ listenHost: '127.0.0.1', allowedHosts: [] }),
  );
  const client = inMemoryClient(app);
  return {
    dataDir,
    registry,
    queue,
    state,
    router,
    executor,
    request: ({ auth, ...req }) =>
      client.request(
        auth === false
          ? req
          : { ...req, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...req.headers } },
      ),
    addFunction: (name, options = {}) => {
      const failed = options.failed === true;
      registry.addVersion(name, registry.nextVersion(name), versionOf(name, options), !failed);
    },
    close: () => {
      registry.close();
      queue.close();
      state.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
