import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Invocation, Result } from '../invoke/types.js';
import type { FunctionLogSink } from '../store/log-types.js';
import { deploymentKey, type Deployment } from './deployment.js';
import { ExecutorEvents } from './events.js';
import { Instance } from './instance.js';
import { Pool } from './pool.js';
import { RUNTIMES } from './runtimes/index.js';

export interface InstanceStatus {
  id: string;
  version: number;
  state: string;
  pid: number | null;
  inFlight: number;
  startedAt: string | null;
}

const DRAIN_GRACE_MS = 30_000;

/** Owns every instance: starts, reuses, times out and stops them. Knows nothing about protocols. */
export class Executor {
  readonly events = new ExecutorEvents();
  private readonly pools = new Map<string, Pool>();
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly logs: FunctionLogSink,
    private readonly logger: Logger,
  ) {
    for (const name of ['spawn', 'ready', 'exit', 'crash', 'timeout'] as const) {
      this.events.on(name, (e) =>
        this.logger.debug({
          event: name,
          fn: e.deployment.function,
          version: e.deployment.version,
          pid: e.pid,
        }),
      );
    }
  }

  invoke(deployment: Deployment, inv: Invocation): Promise<Result> {
    if (this.stopping) {
      return Promise.reject(
        new SkiffError('SKIFF_E_SHUTTING_DOWN', 'the platform is shutting down; retry shortly'),
      );
    }
    const own = Math.min(deployment.timeoutMs, this.config.functions.maxTimeoutMs);
    const timeoutMs = inv.deadline > 0 ? Math.max(1, Math.min(own, inv.deadline - Date.now())) : own;
    return this.pool(deployment).invoke(inv, timeoutMs);
  }

  /** Starts an instance of a new deployment and waits until it is ready (used before going live). */
  async prepare(deployment: Deployment): Promise<void> {
    await this.pool(deployment).ready();
  }

  /** Drains and stops every pool of `functionName` except the listed versions. */
  async retire(functionName: string, keepVersions: number[] = []): Promise<void> {
    const victims = [...this.pools.values()].filter(
      (pool) => pool.deployment.function === functionName && !keepVersions.includes(pool.deployment.version),
    );
    for (const pool of victims) this.pools.delete(deploymentKey(pool.deployment));
    await Promise.all(victims.map((pool) => pool.drain(DRAIN_GRACE_MS)));
  }

  status(functionName: string): InstanceStatus[] {
    return [...this.pools.values()]
      .filter((pool) => pool.deployment.function === functionName)
      .flatMap((pool) =>
        pool.instances.map((i) => ({
          id: i.id,
          version: pool.deployment.version,
          state: i.state,
          pid: i.pid,
          inFlight: i.inFlight,
          startedAt: i.startedAt?.toISOString() ?? null,
        })),
      );
  }

  /** Graceful stop: refuse new work, let in-flight work finish up to graceMs, stop every instance. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.drain(graceMs)));
  }

  private pool(deployment: Deployment): Pool {
    const key = deploymentKey(deployment);
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(deployment, (d) => this.createInstance(d));
      this.pools.set(key, pool);
    }
    return pool;
  }

  private createInstance(deployment: Deployment): Instance {
    return new Instance({
      deployment,
      launch: RUNTIMES[deployment.runtime].launch(deployment, this.config),
      startTimeoutMs: this.config.functions.startTimeoutMs,
      probeTimeoutMs: 250,
      logs: this.logs,
      events: this.events,
      logger: this.logger,
    });
  }
}
