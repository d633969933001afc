/**
 * The control API's app, as `startServer` wires it: every resource's routes over the platform's
 * parts, the dialects' management handlers, the admin token and the request guard.
 */
import type { RequestListener, Server } from 'node:http';
import { createControlApp, type Route } from './control/app.js';
import { functionRoutes } from './control/functions.js';
import { invocationRoutes } from './control/invocations.js';
import { backupRoutes, metaRoutes } from './control/meta.js';
import { createRequestGuard } from './control/request-guard.js';
import { statusRoutes } from './control/status.js';
import { tokenRoutes } from './control/tokens.js';
import { workflowRoutes } from './control/workflows.js';
import type { Deployer } from './control/deploy/deployer.js';
import type { Executor } from './executor/executor.js';
import type { Router } from './invoke/router.js';
import type { WorkflowResolver } from './invoke/workflows.js';
import type { Config } from './shared/config.js';
import type { Health } from './shared/health.js';
import type { Logger } from './shared/logger.js';
import { ConnectionGuard } from './shared/listeners.js';
import { connectionLimits } from './shared/connection-budget.js';
import type { openStores } from './server-stores.js';

type Stores = Awaited<ReturnType<typeof openStores>>;

export interface ControlAppDeps {
  config: Config;
  token: string;
  logger: Logger;
  stores: Stores;
  executor: Executor;
  router: Router;
  deployer: Deployer;
  workflows: WorkflowResolver;
  accessKeys: Parameters<typeof tokenRoutes>[0]['keys'];
  /** What the enabled dialects add: workflow formats and management handlers (server.ts has them). */
  compat: {
    workflowFormats: NonNullable<Parameters<typeof workflowRoutes>[0]['formats']>;
    management: Parameters<typeof createControlApp>[3];
  };
  health: Health;
  /** The endpoints as they are once listening (filled in after this app is made). */
  endpoints: () => Record<string, string>;
  /** Routes of parts wired elsewhere (the metrics). */
  extraRoutes: Route[];
  guard: ConnectionGuard;
}

export function controlApp(d: ControlAppDeps): RequestListener {
  const { config, stores, executor, router } = d;
  const { registry, logs, state, workflowStore, queueStore } = stores;
  const logger = d.logger.child({ part: 'control' });
  return createControlApp(
    [
      ...metaRoutes(executor, d.endpoints, { maxUploadBytes: config.build.maxUploadBytes }),
      ...d.extraRoutes,
      ...invocationRoutes(queueStore),
      ...functionRoutes({
        registry,
        isExternal: (name) => router.externals.has(name),
        deployer: d.deployer,
        executor,
        logs,
        state,
        maxUploadBytes: config.build.maxUploadBytes,
        logger,
        scalingDefaults: config.scaling,
        liveDeployment: (name) => router.resolve(name),
      }),
      ...workflowRoutes({
        exists: (name) => router.exists(name),
        isFunction: (name) => registry.getFunction(name) !== undefined,
        formats: d.compat.workflowFormats,
        store: workflowStore,
        reload: (list) => d.workflows.load(list.map((w) => w.spec)),
      }),
      ...tokenRoutes({ registry, keys: d.accessKeys }),
      ...backupRoutes(config.dataDir, d.logger.child({ part: 'backup' })),
      ...statusRoutes({
        health: d.health,
        dataDir: config.dataDir,
        endpoints: d.endpoints,
        functions: () => registry.listFunctions().length,
        executor: () => executor.overview(),
        warmPool: () => executor.warmCounts(),
        asyncBacklog: () => queueStore.backlog(),
      }),
    ],
    d.token,
    logger,
    d.compat.management,
    createRequestGuard({ listenHost: config.control.host, allowedHosts: config.control.allowedHosts }),
    (req) => d.guard.prove(req.socket),
  );
}

/** The connection guards of the two HTTP listeners (the dialects' own gateways share `http`'s). */
export function listenerGuards(
  config: Config,
  logger: Logger,
): { control: ConnectionGuard; http: ConnectionGuard } {
  return {
    // the control API's clients send the token at once: strangers' connections make way for them
    control: new ConnectionGuard(
      'control',
      { ...connectionLimits(config, config.control.maxConnections), evictUnproven: true },
      logger,
    ),
    http: new ConnectionGuard('http', connectionLimits(config, config.http.maxConnections), logger),
  };
}

/** Closes every listener and connection (the stop's last step) and waits for the servers to close. */
export async function closeListeners(
  servers: readonly Server[],
  guards: Record<string, ConnectionGuard>,
): Promise<void> {
  const closing = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
  for (const s of servers) s.closeAllConnections();
  for (const g of Object.values(guards)) g.close();
  await Promise.all(closing);
}
