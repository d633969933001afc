import { EventEmitter } from 'node:events';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import path from 'node:path';
import {
  DIALECTS,
  dialectFlavorRules,
  dialectFlavors,
  dialectSections,
  enableDialects,
  type Dialects,
  type EnabledDialects,
} from './compat/index.js';
import { ensureAdminToken } from './control/auth.js';
import { Deployer } from './control/deploy/deployer.js';
import { createForeignBuilds } from './control/deploy/foreign-builds.js';
import { Executor } from './executor/executor.js';
import { interpreters } from './languages/index.js';
import { AsyncQueue } from './invoke/async-queue.js';
import { QueueRetention } from './invoke/async-retention.js';
import { Ballast } from './store/ballast.js';
import { migrateDataDir, openStores } from './server-stores.js';
import { afterStart, LiveFunctions } from './server-functions.js';
import { gatewayRouting, gatewayTriggerDeps, liveDeployment } from './server-gateway.js';
import { Router } from './invoke/router.js';
import { FunctionCalls } from './invoke/function-calls.js';
import { queuedAdmission } from './invoke/queued-admission.js';
import { FunctionCasts, type FunctionCastsOptions } from './invoke/function-casts.js';
import { Sandbox } from './sandbox/sandbox.js';
import type { Config } from './shared/config.js';
import { loadConfig, type ConfigSources } from './shared/config-load.js';
import type { Logger } from './shared/logger.js';
import { startTracing } from './shared/otlp-tracing.js';
import { createHttpTrigger } from './triggers/http.js';
import type { RunningTrigger, TriggerContext } from './triggers/index.js';
import { startTriggers } from './server-triggers.js';
import { WorkflowResolver, type CastTargets } from './invoke/workflows.js';
import { secureDataDir } from './store/data-dir.js';
import { loadAccessKeys } from './store/access-keys.js';
import { PrivateAccess } from './invoke/private-access.js';
import { localUrl } from './shared/urls.js';
import { budgetConnections, httpTimeouts } from './shared/connection-budget.js';
import { ConnectionGuard, httpServerOptions, listenAll } from './shared/listeners.js';
import { bindFailure, checkPorts, corePorts } from './shared/ports.js';
import { oneRequestAtATime } from './shared/pipelining.js';
import { Health } from './shared/health.js';
import { CONTROL_PROBES, GATEWAY_PROBES, RESERVED_PREFIX, withHealth } from './shared/health-http.js';
import { minimumInstancesStarted } from './server-health.js';
import { platformMetrics } from './server-metrics.js';
import { closeListeners, controlApp, listenerGuards } from './server-control.js';
import { startMemoryReducer, watchChanges } from './shared/memory-reducer.js';

export interface RunningServer {
  config: Config;
  /** Endpoint name → URL a local client can use (also written to `<dataDir>/endpoints.json`). */
  endpoints: Record<string, string>;
  token: string;
  deployer: Deployer;
  /** Where a cast from a function to a name goes: the workflows' output mappings (src/invoke/workflows.ts). */
  castTargets: CastTargets;
  /** The start-up line naming the isolation and the limits in force. */
  isolation: string;
  /** More start-up lines from the triggers (where a login is kept, ...). */
  notes: string[];
  stop(graceMs?: number): Promise<void>;
}

export const ENDPOINTS_FILE = 'endpoints.json';
/** The configuration with the `compat.<name>` sections of the compiled-in dialects (src/compat/). */
export function loadPlatformConfig(sources: ConfigSources = {}, dialects: Dialects = DIALECTS): Config {
  return loadConfig(sources, dialectSections(dialects));
}

/**
 * The composition root: config → stores → executor → triggers + control API, and the dialects
 * (compatibility APIs) the configuration enables, from the record of those compiled in.
 */
export async function startServer(
  configured: Config,
  logger: Logger,
  dialects: Dialects = DIALECTS,
): Promise<RunningServer> {
  // nothing the platform writes (databases and their WAL, logs, code, tokens) is for other users
  process.umask(0o077);
  // ready once started (minimum instances included), not ready from the moment a stop begins
  const health = new Health();
  // the minimum instances of functions are asked for once listening (afterStart): waited for from now
  let warmup: (() => string | undefined) | undefined;
  health.waitFor(() => (warmup === undefined ? 'the platform is starting functions' : warmup()));
  // the listeners' connection caps, fitted under the open-file limit before anything opens
  const config = budgetConnections(configured, logger);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  await migrateDataDir(config.dataDir, logger.child({ part: 'data-dir' }));
  // first: on a disk that filled while the platform was down, its space lets the stores open
  const ballast = new Ballast(
    config.dataDir,
    config.disk.ballastBytes,
    logger.child({ part: 'disk' }),
    config.disk.reserveBytes,
  );
  ballast.ensure();
  // first, so that a machine that cannot isolate functions stops the start before anything opens
  const sandbox = Sandbox.open(config, logger, { interpreters: interpreters(config) });
  try {
    // a data directory of an older version may hold 0644 files
    await secureDataDir(config.dataDir, sandbox.codeGroup);
  } catch (err) {
    await sandbox.close();
    throw err;
  }
  const token = ensureAdminToken(config.dataDir);
  // private functions' keys, made at the first start on libuv's threads while the stores open
  const accessKeysLoading = loadAccessKeys(config.dataDir, logger);
  accessKeysLoading.catch(() => undefined); // a failure is thrown by the await below
  const stores = await openStores(config, sandbox.codeGroup, ballast);
  const { registry, artifacts, logs, state, workflowStore, queueStore, follow } = stores;
  const closeStores = stores.close;
  // the state of functions deleted while it could not be (a crash between the two deletes); a stored
  // workflow's member keeps it (an external target's name is known only once its dialect is on)
  const members = new Set(workflowStore.list().flatMap((w) => Object.keys(w.spec.functions)));
  for (const fn of state.functions()) {
    if (registry.getFunction(fn) === undefined && !members.has(fn)) await state.deleteAll(fn);
  }
  const workflows = new WorkflowResolver();
  workflows.load(workflowStore.list().map((w) => w.spec));
  logger.info(
    { sandbox: sandbox.kind, cgroups: sandbox.cgroups?.version ?? null },
    sandbox.describe(config.sandbox.limits),
  );
  const executor = new Executor(config, logs, logger.child({ part: 'executor' }), sandbox);
  // OTLP export of invocation spans, when the OTEL_* variables ask for it (docs/operations.md)
  const tracing = await startTracing(process.env, logger.child({ part: 'tracing' }));
  executor.serveState({ state, exists: (fn) => registry.getFunction(fn) !== undefined });
  // every compiled-in flavor, whether or not its dialect is enabled: flavors are the functions' own
  const flavors = dialectFlavors(dialects);
  const router = new Router(registry, artifacts, executor, config, flavors);
  const calls = new FunctionCalls({
    invoke: (inv) => router.invoke(inv),
    resolve: (name) => router.access(name),
    maxDepth: config.functions.maxCallDepth,
    maxChainCalls: config.functions.maxChainCalls,
  });
  executor.serveCalls(calls);
  const accessKeys = await accessKeysLoading.catch(async (err: unknown) => {
    await Promise.all([executor.stop(0), tracing?.stop()]).then(closeStores);
    throw err;
  });
  // the one check of private functions (skiff.json access.private) for the gateway, gRPC and CoAP
  const privateAccess = new PrivateAccess({
    keys: accessKeys,
    isPrivate: (name) => router.access(name).private,
    applicationId: (name) => registry.applicationId(name),
  });
  // an invocation from outside the platform: refused first when it may not reach a private function
  const invokeFromOutside = privateAccess.guard((inv) => router.invoke(inv));
  const changes = new EventEmitter<{ changed: [] }>();
  // the live functions' specs for the triggers' rules: read once, then one function per change
  const live = new LiveFunctions(registry);
  // the names the platform is called by: no function's host route takes them
  const routing = gatewayRouting(router, live, registry, [
    config.http.host,
    ...config.http.publicHosts,
    config.control.host,
    ...config.control.allowedHosts,
  ]);
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
    sandbox,
    diskRoom: (bytes) => ballast.hasRoom(bytes),
    onChanged: (name) => {
      live.changed(name);
      routing.changed();
      changes.emit('changed');
    },
    hostClaims: routing.claims,
  });
  const retention = new QueueRetention({
    store: queueStore,
    settings: config.async.retention,
    logger: logger.child({ part: 'async' }),
    onRound: () => ballast.ensure(),
  });
  const asyncQueue = new AsyncQueue({
    store: queueStore,
    settings: config.async,
    invoke: (inv) => router.invoke(inv),
    logger: logger.child({ part: 'async' }),
    outbound: config.outbound,
    onSettled: () => retention.kick(),
    diskRoom: (bytes) => ballast.hasRoom(bytes),
    // a queued invocation is not handed to a function made again since, nor to a cast's target that
    // no longer accepts its caster
    admit: queuedAdmission({
      createdAt: (name) => router.createdAt(name),
      callers: (name) => router.access(name).callers,
    }),
  });
  const castOptions: FunctionCastsOptions = {
    acceptGroups: (groups) => asyncQueue.acceptGroups(groups),
    chainSize: (rootId, cap) => queueStore.chainSize(rootId, cap),
    hasCastKey: (key) => queueStore.hasCastKey(key),
    maxChainCasts: config.functions.maxChainCasts,
    maxBodyBytes: config.async.maxBodyBytes,
    resolve: (name) => router.access(name),
    maxDepth: config.functions.maxCallDepth,
  };
  // a workflow member's output aliases go where its workflow maps them (src/invoke/workflows.ts)
  executor.serveCasts(new FunctionCasts({ ...castOptions, targets: workflows.targets }));
  if (config.outbound.allowPrivate) {
    logger.warn(
      "outbound.allowPrivate: async callbacks and compatibility APIs' downloads may reach loopback, private and link-local addresses, this machine included",
    );
  }
  let controlBase = '';
  const endpoints: Record<string, string> = {};
  // the compatibility APIs the configuration turns on (src/compat/dialect.ts)
  let compat: EnabledDialects;
  try {
    compat = await enableDialects(dialects, {
      config,
      registry,
      deployer,
      builds: createForeignBuilds(sandbox, artifacts, config),
      codeDir: (name) => liveDeployment(router, name)?.codeDir,
      logs,
      token,
      logger,
      endpoints: () => endpoints,
      externals: router.externals,
      // casts to the exact names given: a dialect resolves its platform's aliases itself
      casts: new FunctionCasts(castOptions),
      calls,
      state,
      storedWorkflow: (name) => workflowStore.get(name)?.spec,
    });
  } catch (err) {
    // two dialects on one gateway port or prefix: nothing listens yet, the stores close again
    await executor.stop(0);
    await tracing?.stop();
    await closeStores();
    throw err;
  }

  const metrics = platformMetrics({ config, token, executor, queueStore, registry });
  // the probes come first on every HTTP listener: no route, dialect or host route can take their paths
  const controlProbes = (app: RequestListener) =>
    withHealth(app, health, { ...CONTROL_PROBES, whileDraining: ['/v1/health'] });
  const gatewayProbes = (app: RequestListener) =>
    withHealth(app, health, { ...GATEWAY_PROBES, reserved: RESERVED_PREFIX });
  const guards = listenerGuards(config, logger);
  /** A factory of HTTP servers with the deadlines, watched by `guard` (one per bound address). */
  const httpListener = (guard: ConnectionGuard, app: RequestListener) => () => {
    // the requests pipelined on one connection run one at a time (shared/pipelining.ts)
    const server = createServer(httpServerOptions(httpTimeouts(config)), oneRequestAtATime(app));
    guard.attachHttp(server);
    return server;
  };
  // deploys, deletes ... through it are activity for the memory reducer (started once listening)
  const controlChanges = watchChanges(
    controlApp({
      ...{
        config,
        token,
        logger,
        stores,
        executor,
        router,
        deployer,
        workflows,
        accessKeys,
        compat,
        health,
      },
      endpoints: () => endpoints,
      extraRoutes: metrics.routes,
      guard: guards.control,
    }),
  );
  const control = httpListener(guards.control, controlProbes(controlChanges.app));
  // the HTTP rules of functions' flavors (a platform's CORS and proxy headers…), by function
  const flavorRules = dialectFlavorRules(dialects, config, (name) => router.resolve(name).flavor);
  const gatewayDeps = gatewayTriggerDeps({
    ...{ config, router, privateAccess, routing, asyncQueue, flavorRules },
    logger: logger.child({ part: 'http' }),
    controlBase: () => controlBase,
  });
  // the function port: Skiff's rules, or a dialect's that takes the whole port, and dialects' prefixes
  const gateway = httpListener(
    guards.http,
    gatewayProbes(
      createHttpTrigger({
        ...gatewayDeps,
        ...(compat.functionPort === undefined ? {} : { rules: compat.functionPort }),
        prefixed: compat.prefixed,
        hosts: (raw) => routing.hosts(raw),
      }),
    ),
  );

  const servers: Server[] = [];
  const triggers: RunningTrigger[] = [{ stop: async () => follow.close() }, metrics];
  const notes: string[] = [];
  // every port is checked before anything listens: all the taken ones are reported at once
  const planned = [...corePorts(config), ...compat.ports];
  try {
    await checkPorts(planned);
    const controlListen = await listenAll(control, config.control.host, config.control.port);
    servers.push(...controlListen.servers);
    const controlAddress = controlListen.address;
    const httpListen = await listenAll(gateway, config.http.host, config.http.port);
    servers.push(...httpListen.servers);
    const httpAddress = httpListen.address;
    controlBase = localUrl('http', controlAddress);
    endpoints['control'] = controlBase;
    endpoints['http'] = localUrl('http', httpAddress);
    // dialects' gateways on ports of their own (the HTTP connection caps count them with the gateway)
    for (const own of compat.ownGateways) {
      const app = gatewayProbes(createHttpTrigger({ ...gatewayDeps, rules: own.rules }));
      const listening = await listenAll(httpListener(guards.http, app), own.host, own.port);
      servers.push(...listening.servers);
      endpoints[own.name] = localUrl('http', listening.address);
    }
    asyncQueue.start();
    retention.start();
    const triggerContext: TriggerContext = {
      config,
      invoke: invokeFromOutside,
      check: (name) => void router.access(name),
      queue: asyncQueue,
      liveFunctions: () => live.all(),
      onFunctionsChanged: (listener) => void changes.on('changed', listener),
      grpcServices: compat.grpcServices,
      flavors,
      logger,
    };
    // the triggers, then dialects' own listeners, started as triggers are
    await startTriggers(triggerContext, compat.listeners, { triggers, endpoints, notes });
    notes.push(...compat.notes);
    // written whole or not at all: a supervisor polling for the file never reads half of it
    const endpointsFile = path.join(config.dataDir, ENDPOINTS_FILE);
    writeFileSync(`${endpointsFile}.tmp`, `${JSON.stringify(endpoints, null, 2)}\n`);
    renameSync(`${endpointsFile}.tmp`, endpointsFile);
    logger.info({ endpoints, dataDir: config.dataDir }, 'skiff started');
    health.listeningNow();
    executor.warmUp(); // the warm pool fills once listening, off the start's path
    // minimum instances and the pruning of old versions, once listening (server-functions.ts)
    let stopped: Promise<void> | undefined;
    const running = (): boolean => stopped === undefined;
    const sources = [executor, deployer, controlChanges.source];
    const ready = () => health.readiness().ready;
    const stopReducer = startMemoryReducer(config.memory.reduceAfterIdleMs, logger, { sources, ready });
    void afterStart({
      ...{ config, registry, router, executor, deployer, live, logger, running },
      onWarming: (deployments) => {
        warmup = minimumInstancesStarted(executor, deployments, config.functions.startTimeoutMs);
      },
    });
    const stop = (graceMs = config.executor.drainTimeoutMs): Promise<void> => {
      stopped ??= (async () => {
        // not ready from now on: the HTTP listeners stay open while in-flight work drains, answering
        // the probes (503 draining) and refusing anything else with SKIFF_E_SHUTTING_DOWN
        health.drain();
        stopReducer();
        await Promise.all(triggers.map((t) => t.stop()));
        for (const s of servers) s.closeIdleConnections();
        // attempts in flight finish (or are queued again at the next start); nothing accepted is lost
        await asyncQueue.stop(graceMs);
        await retention.stop();
        await executor.stop(graceMs);
        // the spans of what just finished are exported before the stop completes
        await tracing?.stop();
        await closeListeners(servers, guards);
        await closeStores();
      })();
      return stopped;
    };
    const isolation = sandbox.describe(config.sandbox.limits);
    return { config, endpoints, token, deployer, castTargets: workflows.targets, isolation, notes, stop };
  } catch (err) {
    await Promise.all(triggers.map((t) => t.stop()));
    for (const s of servers) s.close();
    for (const g of Object.values(guards)) g.close();
    // give back the warm pool's processes, the cgroups and the slot mount
    await asyncQueue.stop(0);
    await retention.stop();
    await executor.stop(0);
    await tracing?.stop();
    await closeStores();
    throw bindFailure(err, planned);
  }
}
