/**
 * The platform's Prometheus metrics as the composition root wires them: fed by the core's diagnostics
 * channels (src/metrics/ subscribes; the executor and the queue never import it), read at a scrape
 * from the executor, the durable queue and the registry, served by `GET /metrics` on the control API.
 */
import type { Route } from './control/app.js';
import { metricsRoutes } from './control/metrics.js';
import type { Executor } from './executor/executor.js';
import { startMetrics, type Metrics } from './metrics/platform-metrics.js';
import type { Config } from './shared/config.js';
import type { QueueStore } from './store/queue-store.js';
import type { Registry } from './store/registry.js';

export interface PlatformMetrics {
  metrics: Metrics;
  routes: Route[];
  /** Unsubscribes (the server's stop; a RunningTrigger's shape, stopped with the triggers). */
  stop(): Promise<void>;
}

export function platformMetrics(deps: {
  config: Config;
  token: string;
  executor: Executor;
  queueStore: QueueStore;
  registry: Pick<Registry, 'getFunction'>;
}): PlatformMetrics {
  const { config, executor, queueStore, registry } = deps;
  const metrics = startMetrics({
    census: () => executor.census(),
    warmCounts: () => executor.warmCounts(),
    asyncBacklog: () => queueStore.backlog(),
    asyncBacklogBytes: () => queueStore.queuedBytes,
    exists: (fn) => registry.getFunction(fn) !== undefined,
  });
  const routes = metricsRoutes(() => metrics.render(), {
    adminToken: deps.token,
    metricsToken: config.control.metricsToken,
    public: config.control.metricsPublic,
  });
  return {
    metrics,
    routes,
    stop: async () => metrics.close(),
  };
}
