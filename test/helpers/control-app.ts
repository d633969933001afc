/**
 * The control API assembled as server.ts assembles it, for tests in memory: the real routes, auth,
 * request guard, Deployer and Router, on a real SQLite registry and async queue (in memory), with a temporary
 * data directory for code and logs; only the executor (which would start processes) is a fake that records what it is told.
 * Functions are put into the registry directly (a version row without a build), so no deploy runs.
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
import type { Executor, FunctionStatus } from '../../src/executor/executor.js';
import { Router } from '../../src/invoke/router.js';
import type { Deployment } from '../../src/model/deployment.js';
import type { Scaling } from '../../src/model/scaling.js';
import type { FunctionSpec } from '../../src/model/spec.js';
import { loadConfig } from '../../src/shared/config-load.js';
import { createLogger } from '../../src/shared/logger.js';
import { ArtifactStore } from '../../src/store/artifacts.js';
import { FileLogStore } from '../../src/store/file-logs.js';
import { QueueStore } from '../../src/store/queue-store.js';
import { SqliteRegistry } from '../../src/store/sqlite-registry.js';
import { inMemoryClient, type InMemoryRequest, type InMemoryResponse } from './in-memory-http.js';
import { TMP_PREFIX } from './tmp.js';

export const ADMIN_TOKEN = 'test-admin-token';

/** What the fake executor was asked to do, in order (`ensure f@1`, `rescale f`, `retire f`). */
export type ExecutorCall = string;

const IDLE: FunctionStatus = {
  instances: [],
  queued: 0,
  inFlight: 0,
  coldStarts: 0,
  starts: 0,
  failures: 0,
  backoffUntil: null,
  recentErrors: [],
};

/** An executor that starts nothing: it records the calls the control routes and the Deployer make. */
export function fakeExecutor(calls: ExecutorCall[] = []): Executor & { calls: ExecutorCall[] } {
  const fake = {
    calls,
    status: (): FunctionStatus => IDLE,
    warmCounts: () => ({ node: 1 }),
    ensure: (d: Deployment) => void calls.push(`ensure ${d.function}@${d.version}`),
    rescale: (name: string, s: Scaling) => void calls.push(`rescale ${name} max=${s.maxInstances}`),
    retire: (name: string) => {
      calls.push(`retire ${name}`);
      return Promise.resolve();
    },
    invoke: () => Promise.reject(new Error('the fake executor runs nothing')),
  };
  return fake as unknown as Executor & { calls: ExecutorCall[] };
}

export function specOf(name: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'node',
    handler: null,
    description: '',
    env: {},
    timeoutMs: null,
    command: null,
    ...extra,
  } as FunctionSpec;
}

export interface ControlKit {
  dataDir: string;
  registry: SqliteRegistry;
  queue: QueueStore;
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
  const artifacts = new ArtifactStore(dataDir);
  const logs = new FileLogStore(path.join(dataDir, 'logs'));
  const executor = fakeExecutor();
  const router = new Router(registry, artifacts, executor, config);
  const deployer = new Deployer({
    config,
    registry,
    artifacts,
    executor,
    router,
    logs,
    logger,
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
        maxUploadBytes: 1024,
        scalingDefaults: config.scaling,
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
      registry.addVersion(
        name,
        registry.nextVersion(name),
        {
          hash: 'abcdef0123456789',
          status: failed ? 'failed' : 'ready',
          spec: specOf(name, options.spec),
          entry: 'index.js',
          buildLog: failed ? 'the build failed' : 'built',
          buildMs: 5,
        },
        !failed,
      );
    },
    close: () => {
      registry.close();
      queue.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
