import type { RuntimeName } from '../model/spec.js';
import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { FunctionLogSink } from '../model/log-record.js';
import { deploymentKey, type Deployment } from '../model/deployment.js';
import { ExecutorEvents, type ExecutorEventName } from './events.js';
import { invocationSpans, publishing } from './invocation-spans.js';
import { Instance } from './instance.js';
import { Pool } from './pool.js';
import { functionStatus, poolsOverview, type FunctionStatus, type PoolsOverview } from './status.js';
import { fitsWarm, warmMemoryOf } from './warm-fit.js';
import { runtimeOf } from '../languages/index.js';
import type { Scaling } from '../model/scaling.js';
import { WarmPool } from './warm-pool.js';
import { budgetLimits, InstanceBudget, type BudgetStatus } from './budget.js';
import { randomUUID } from 'node:crypto';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { CallerContext, CallHost, CallRequest, CastHost, CastRequest } from './calls.js';
import type { StateSource } from './state-service.js';
import { observeInvocation, publishRefusal } from '../shared/probes.js';

export type { FunctionStatus, InstanceStatus } from './status.js';

/** How often idle instances are looked for. */
const SWEEP_MS = 100;
/** The longest a deploy's start waits for a warm process being started before it starts its own. */
const WARM_WAIT_MS = 1000;
const EVENTS: ExecutorEventName[] = [
  'spawn',
  'ready',
  'specialise',
  'evict',
  'exit',
  'crash',
  'timeout',
  'throttle',
];

/** Owns every instance: starts, reuses, scales, times out and stops them. Knows nothing about protocols. */
export class Executor {
  readonly events = new ExecutorEvents();
  private readonly pools = new Map<string, Pool>();
  /** Pools retired but still finishing their calls, by deployment key: their code must stay. */
  private readonly draining = new Map<string, Deployment>();
  private readonly warm: WarmPool;
  /** Deployments a deploy is starting (`prepare`): a warm process they take is replaced at once. */
  private readonly preparing = new Set<string>();
  /** The instances alive over all functions stay within `executor.budget` (budget.ts). */
  readonly budget: InstanceBudget;
  private readonly sweeper: NodeJS.Timeout;
  private stopping = false;
  /** Invocations running or waiting in a pool's queue, over all functions. */
  private inFlight = 0;
  /** Grows by one when an invocation is given and when one settles: a quiet platform's stays put. */
  private changes = 0;
  /** Serves `ctx.call` from instances (set by the composition root, which builds it over the router). */
  private callHost: CallHost | undefined;
  private castHost: CastHost | undefined;
  /** Serves `ctx.state` from instances (set by the composition root: the state store). */
  private functionState: StateSource | undefined;

  constructor(
    private readonly config: Config,
    private readonly logs: FunctionLogSink,
    private readonly logger: Logger,
    private readonly sandbox: Sandbox,
  ) {
    for (const name of EVENTS) {
      this.events.on(name, (e) =>
        this.logger.debug({
          event: name,
          fn: e.deployment?.function,
          version: e.deployment?.version,
          pid: e.pid,
        }),
      );
    }
    this.budget = new InstanceBudget(budgetLimits(config), () =>
      [...this.pools.values()].flatMap((pool) => pool.evictable()),
    );
    this.warm = new WarmPool(
      // Without code slots a generic process in bubblewrap could never see the code it is given.
      sandbox.canSpecialise ? config.executor.warmPool : {},
      (runtime, memoryMb) => this.createInstance(undefined, runtime, memoryMb),
      logger,
    );
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const pool of this.pools.values()) pool.evictIdle(now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** Starts filling the warm pool, once the platform listens (a call before it starts cold). */
  warmUp(): void {
    if (!this.stopping) this.warm.fill();
  }

  invoke(deployment: Deployment, inv: Invocation): Promise<Result> {
    if (this.stopping) {
      return this.refuse(
        deployment,
        inv,
        new SkiffError('SKIFF_E_SHUTTING_DOWN', 'the platform is shutting down; retry shortly', {
          retryAfterSec: 1,
        }),
      );
    }
    if (this.inFlight >= this.config.executor.maxInFlight) {
      this.events.emit('throttle', { deployment, instanceId: '', pid: null });
      return this.refuse(
        deployment,
        inv,
        new SkiffError(
          'SKIFF_E_TOO_MANY_REQUESTS',
          `the platform is at its limit of ${this.config.executor.maxInFlight} invocations at once (executor.maxInFlight); retry later`,
          { retryAfterSec: 1 },
        ),
      );
    }
    this.inFlight++;
    this.changes++;
    const pool = this.pool(deployment);
    const running = invocationSpans.hasSubscribers
      ? publishing(deployment, inv, pool, () => pool.invoke(inv, this.settled))
      : pool.invoke(inv, this.settled);
    // its end is published for observers (shared/probes.ts) only while one listens
    return observeInvocation(running, deployment.function, inv.trigger);
  }

  private refuse(deployment: Deployment, inv: Invocation, error: SkiffError): Promise<never> {
    publishRefusal(deployment.function, inv.trigger, error, error.code === 'SKIFF_E_TOO_MANY_REQUESTS');
    return Promise.reject(error);
  }

  /**
   * Per pool (one version of a function): its function, its queued invocations and its instances, for
   * the metrics read at a scrape. Retired pools still draining are not in it.
   */
  *census(): Generator<{ function: string; queued: number; instances: Iterable<Instance> }> {
    for (const pool of this.pools.values()) {
      yield { function: pool.deployment.function, queued: pool.queued, instances: pool.members };
    }
  }

  /** An invocation counted in `inFlight` settled (the pool calls it once per invocation it was given). */
  private readonly settled = (): void => {
    this.inFlight--;
    this.changes++;
  };

  /** For the memory reducer (src/shared/memory-reducer.ts): a counter of invocations given and settled. */
  activity(): number {
    return this.changes;
  }

  /** Invocations running or queued now. */
  busy(): boolean {
    return this.inFlight > 0;
  }

  /** Serves the calls functions make to each other (CALL frames) through `host`; until then they fail. */
  serveCalls(host: CallHost): void {
    this.callHost = host;
  }

  /** Serves the casts functions make to each other (CAST frames) through `host`; until then they fail. */
  serveCasts(host: CastHost): void {
    this.castHost = host;
  }

  /** Serves the functions' own state (STATE frames) from `source`; until then it is refused. */
  serveState(source: StateSource): void {
    this.functionState = source;
  }

  /** Starts an instance of a new deployment and waits until it is ready (used before going live). */
  async prepare(deployment: Deployment): Promise<void> {
    const pool = this.pool(deployment);
    const key = deploymentKey(deployment);
    if (this.canUseWarm(deployment)) {
      // deploys in a row: the process the previous deploy's refill is starting serves this one
      await this.warm.whenWarm(deployment.runtime, WARM_WAIT_MS, this.warmMemory(deployment));
      this.preparing.add(key);
    }
    // the wait for room in the instance budget is bounded like a start (each start has its own bound)
    const waitMs = this.config.functions.startTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const noRoom = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (!pool.isAdmitting) return;
        const { memoryMb, instances } = this.budget.limits;
        reject(
          new SkiffError(
            'SKIFF_E_QUEUE_TIMEOUT',
            `no room for an instance of ${deployment.function} within ${waitMs} ms: the instance budget (executor.budget: ${instances} instances, ${memoryMb} MiB) is taken by instances with work in flight; retry later`,
            { retryAfterSec: 1 },
          ),
        );
      }, waitMs);
    });
    try {
      await Promise.race([pool.prepare(), noRoom]);
    } finally {
      clearTimeout(timer);
      this.preparing.delete(key);
    }
    pool.scale();
  }

  /** Brings a live deployment up to its minInstances (at start-up, after a scale change). */
  ensure(deployment: Deployment): void {
    if (!this.stopping) this.pool(deployment).scale();
  }

  /** The deployment has its minimum instances ready (or failed to start them): see Pool.atMinimum. */
  atMinimum(deployment: Deployment): boolean {
    return this.pools.get(deploymentKey(deployment))?.atMinimum ?? true;
  }

  /** Instances of every pool by state, and the invocations queued for one and in flight (`GET /v1/status`). */
  overview(): PoolsOverview {
    return poolsOverview(this.pools.values());
  }

  /** Applies new scaling settings to every running version of a function, without a redeploy. */
  rescale(functionName: string, scaling: Scaling): void {
    for (const pool of this.pools.values()) {
      if (pool.deployment.function === functionName) pool.setScaling(scaling);
    }
  }

  /** Drains and stops every pool of `functionName` except the listed versions. */
  async retire(functionName: string, keepVersions: number[] = []): Promise<void> {
    const victims = [...this.pools.values()].filter(
      (pool) => pool.deployment.function === functionName && !keepVersions.includes(pool.deployment.version),
    );
    for (const pool of victims) {
      this.pools.delete(deploymentKey(pool.deployment));
      this.draining.set(deploymentKey(pool.deployment), pool.deployment);
    }
    await Promise.all(
      victims.map((pool) =>
        pool.drain(this.config.executor.retireGraceMs).finally(() => {
          const key = deploymentKey(pool.deployment);
          if (this.draining.get(key) === pool.deployment) this.draining.delete(key);
        }),
      ),
    );
  }

  /** The versions of a function that have instances, running or draining: their code must stay. */
  versionsInUse(functionName: string): Set<number> {
    const out = new Set<number>();
    for (const d of [...[...this.pools.values()].map((p) => p.deployment), ...this.draining.values()])
      if (d.function === functionName) out.add(d.version);
    return out;
  }

  status(functionName: string): FunctionStatus {
    return functionStatus(
      [...this.pools.values()].filter((pool) => pool.deployment.function === functionName),
    );
  }

  /** Warm-pool processes waiting, per runtime. */
  warmCounts(): Partial<Record<RuntimeName, number>> {
    return this.warm.counts();
  }

  /** The instance budget and what is taken of it (`GET /v1/executor`). */
  budgetStatus(): BudgetStatus {
    const { limits, used } = this.budget;
    return {
      ...limits,
      usedMemoryMb: used.memoryMb,
      usedInstances: used.instances,
      waiting: this.budget.waiters,
    };
  }

  /** Graceful stop: refuse new work, let in-flight work finish up to graceMs, stop every instance. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all([...pools.map((pool) => pool.drain(graceMs)), this.warm.stop()]);
    await this.sandbox.close();
  }

  private pool(deployment: Deployment): Pool {
    const key = deploymentKey(deployment);
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(deployment, deployment.scaling, {
        create: (d) => this.createInstance(d, d.runtime),
        takeWarm: (d) =>
          this.canUseWarm(d)
            ? this.warm.take(d, this.warmMemory(d), this.preparing.has(deploymentKey(d)))
            : undefined,
        timeoutFor: (d, inv) => this.timeoutFor(d, inv),
        events: this.events,
        admit: (d, wanted, urgent) => this.budget.admit(d.limits.memoryMb, wanted, urgent, d.function),
        shouldYield: (d) => this.budget.shouldYield(d.function),
        idle: () => this.budget.kick(),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** The function's own timeout, capped by the platform's maximum and by a caller's deadline. */
  private timeoutFor(deployment: Deployment, inv: Invocation): number {
    const own = Math.min(deployment.timeoutMs, this.config.functions.maxTimeoutMs);
    return inv.deadline > 0 ? Math.max(1, Math.min(own, inv.deadline - Date.now())) : own;
  }

  /**
   * `memoryMb`: a warm-pool process sized for this memory limit rather than the default (a runtime
   * whose process is sized by memory at its start, `warmSizedByMemory`).
   */
  private createInstance(
    deployment: Deployment | undefined,
    runtime: RuntimeName,
    memoryMb?: number,
  ): Instance {
    const record = runtimeOf(runtime);
    const warm = record.launchWarm;
    if (deployment === undefined && warm === null) {
      throw new Error(`runtime ${runtime} has no generic bridge`);
    }
    const id = randomUUID();
    const defaults = this.config.sandbox.limits;
    const wrapped = this.sandbox.wrap({
      id,
      limits: deployment?.limits ?? (memoryMb === undefined ? defaults : { ...defaults, memoryMb }),
      network: deployment?.network ?? 'none',
      codeDir: deployment?.codeDir,
      functionName: deployment?.function,
      build: (codeDir) =>
        deployment === undefined
          ? (warm as NonNullable<typeof warm>)(this.config, memoryMb)
          : record.launch({ ...deployment, codeDir: codeDir ?? deployment.codeDir }, this.config),
    });
    return new Instance({
      id,
      deployment,
      launch: wrapped.launch,
      cgroup: wrapped.cgroup,
      slot: wrapped.slot,
      startTimeoutMs: this.config.functions.startTimeoutMs,
      maxResponseBytes: this.config.functions.maxResponseBytes,
      probeTimeoutMs: 250,
      logs: this.logs,
      events: this.events,
      logger: this.logger,
      // warm-pool processes start before the host is set: they ask for it per call
      calls: {
        host: { call: (c, r, signal) => this.call(c, r, signal) },
        casts: { cast: (c, r) => this.cast(c, r) },
        // the request body limit, and never more than a frame from an instance may carry
        maxBodyBytes: Math.min(this.config.http.maxBodyBytes, this.config.functions.maxResponseBytes),
      },
      state: () => this.functionState,
    });
  }

  private call(caller: CallerContext, request: CallRequest, signal?: AbortSignal): Promise<Result> {
    if (this.callHost === undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INTERNAL', 'this platform serves no calls between functions'),
      );
    }
    return this.callHost.call(caller, request, signal);
  }

  private cast(caster: CallerContext, request: CastRequest): Promise<string[]> {
    if (this.castHost === undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INTERNAL', 'this platform serves no casts between functions'),
      );
    }
    return this.castHost.cast(caster, request);
  }

  private canUseWarm(deployment: Deployment): boolean {
    return this.sandbox.canSpecialise && fitsWarm(deployment, this.config.sandbox.limits);
  }

  private warmMemory(deployment: Deployment): number | undefined {
    return warmMemoryOf(deployment, this.config.sandbox.limits);
  }
}
