import { SkiffError, toSkiffError, type ErrorCode } from '../shared/errors.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { Deployment } from '../model/deployment.js';
import type { ExecutorEvents } from './events.js';
import type { Instance } from './instance.js';
import type { PoolInstance } from './pool-instance.js';
import type { Scaling } from '../model/scaling.js';
import { isTransientSandboxFailure } from '../sandbox/bubblewrap.js';

interface Waiter {
  inv: Invocation;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
  timer: NodeJS.Timeout;
}

export interface RecentError {
  at: string;
  code: ErrorCode;
  message: string;
}

/** What a pool is given (by the executor; by a test, fakes). */
export interface PoolDeps<I extends PoolInstance<I> = Instance> {
  /** A new instance of the deployment, not started. */
  create(deployment: Deployment): I;
  /** A generic process of the warm pool that can load this deployment, if one is waiting. */
  takeWarm(deployment: Deployment): I | undefined;
  /** The invocation timeout, computed when the invocation is handed to an instance. */
  timeoutFor(deployment: Deployment, inv: Invocation): number;
  events: ExecutorEvents;
}

const RECENT_ERRORS = 10;
/** Errors worth showing in a function's status: the platform's view of its health. */
const NOTEWORTHY = new Set<ErrorCode>([
  'SKIFF_E_INSTANCE_CRASHED',
  'SKIFF_E_OUT_OF_MEMORY',
  'SKIFF_E_INSTANCE_START_FAILED',
  'SKIFF_E_START_TIMEOUT',
  'SKIFF_E_TIMEOUT',
  'SKIFF_E_QUEUE_TIMEOUT',
  'SKIFF_E_TOO_MANY_REQUESTS',
]);
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * The instances of one deployment: dispatch to the least-loaded instance with a free slot, a bounded
 * FIFO queue when every slot is taken, scale-up while demand exceeds capacity, scale-down of idle
 * instances, replacement of crashed ones with a back-off when they keep failing.
 */
export class Pool<I extends PoolInstance<I> = Instance> {
  /** Every instance of this pool that has not exited yet (starting, warm, ready or stopping). */
  readonly members = new Set<I>();
  /** Instances started because an invocation had to wait for one (a cold start). */
  coldStarts = 0;
  /** Instances started in all (for demand, for minInstances, for a deploy). */
  starts = 0;
  /** Consecutive failures (crashes, failed starts); reset by an answered invocation. */
  failures = 0;
  backoffUntil = 0;
  readonly recentErrors: RecentError[] = [];
  private queue: Waiter[] = [];
  private draining = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private readonly starting = new Map<I, Promise<void>>();

  constructor(
    readonly deployment: Deployment,
    public scaling: Scaling,
    private readonly deps: PoolDeps<I>,
  ) {}

  get instances(): I[] {
    return [...this.members];
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    let n = 0;
    for (const i of this.members) n += i.inFlight;
    return n;
  }

  invoke(inv: Invocation): Promise<Result> {
    if (inv.signal?.aborted === true) {
      return Promise.reject(
        new SkiffError('SKIFF_E_CANCELLED', 'the invocation was cancelled: its caller ended'),
      );
    }
    if (this.queue.length === 0) {
      const instance = this.pick();
      if (instance !== undefined) return this.run(instance, inv);
    }
    if (this.queue.length >= this.scaling.maxQueue + this.slotsComing()) {
      this.deps.events.emit('throttle', { deployment: this.deployment, instanceId: '', pid: null });
      return Promise.reject(
        this.recordRecent(
          new SkiffError(
            'SKIFF_E_TOO_MANY_REQUESTS',
            `${this.deployment.function} is at capacity (${this.scaling.maxInstances} instances × ${this.scaling.concurrency} concurrent, ${this.scaling.maxQueue} queued); retry later`,
            { retryAfterSec: 1 },
          ),
        ),
      );
    }
    const backoffMs = this.backoffUntil - Date.now();
    if (backoffMs > 0 && this.members.size === 0) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_CRASH_LOOP',
          `${this.deployment.function} keeps crashing (${this.failures} failures in a row); the next start is in ${Math.ceil(backoffMs / 1000)} s. See \`skiff logs ${this.deployment.function}\``,
          { retryAfterSec: backoffMs / 1000 },
        ),
      );
    }
    // a call waits no longer than its caller's deadline: then nobody waits for its answer
    const queueWaitMs = this.scaling.maxQueueWaitMs;
    const untilDeadline = inv.deadline > 0 ? Math.max(0, inv.deadline - Date.now()) : Infinity;
    return new Promise<Result>((resolve, reject) => {
      const waiter: Waiter = {
        inv,
        resolve,
        reject,
        timer: setTimeout(
          () => {
            this.queue = this.queue.filter((w) => w !== waiter);
            if (untilDeadline < queueWaitMs) {
              reject(
                new SkiffError(
                  'SKIFF_E_TIMEOUT',
                  `the caller's deadline passed while the call waited for a free instance of ${this.deployment.function}`,
                ),
              );
              return;
            }
            reject(
              this.recordRecent(
                new SkiffError(
                  'SKIFF_E_QUEUE_TIMEOUT',
                  `no instance of ${this.deployment.function} was free within ${this.scaling.maxQueueWaitMs} ms; retry later or raise its maxInstances`,
                  { retryAfterSec: 1 },
                ),
              ),
            );
          },
          Math.min(queueWaitMs, untilDeadline),
        ),
      };
      this.queue.push(waiter);
      // its caller ended while it waited: it leaves the queue
      inv.signal?.addEventListener(
        'abort',
        () => {
          if (!this.queue.includes(waiter)) return;
          this.queue = this.queue.filter((w) => w !== waiter);
          clearTimeout(waiter.timer);
          reject(
            new SkiffError(
              'SKIFF_E_CANCELLED',
              'the invocation was cancelled while queued: its caller ended',
            ),
          );
        },
        { once: true },
      );
      this.scale();
    });
  }

  /** Resolves once an instance is ready, starting one if there is none (a deploy waits on this). */
  async prepare(): Promise<void> {
    for (const i of this.members) if (i.accepting) return;
    if (this.starting.size > 0) {
      await Promise.any(this.starting.values()).catch((err: unknown) => {
        throw (err as AggregateError).errors[0] ?? err;
      });
      return;
    }
    await this.startOne(false);
  }

  /** New settings take effect at once: more slots serve the queue, extra idle instances stop. */
  setScaling(scaling: Scaling): void {
    this.scaling = scaling;
    this.pump();
    this.scale();
    this.evictIdle(Date.now());
  }

  /** Brings the pool to what demand and minInstances ask for, within maxInstances. */
  scale(): void {
    if (this.draining && this.queue.length === 0) return;
    const { minInstances, maxInstances, concurrency } = this.scaling;
    let count = 0;
    let capacity = 0;
    for (const i of this.members) {
      if (i.state === 'stopping' || i.state === 'exited') continue;
      count++;
      capacity += concurrency;
    }
    const demand = this.inFlight + this.queue.length;
    const wanted = Math.min(
      maxInstances,
      Math.max(
        this.draining ? 0 : minInstances,
        count + Math.ceil(Math.max(0, demand - capacity) / concurrency),
      ),
    );
    if (wanted <= count) return;
    const wait = this.backoffUntil - Date.now();
    if (wait > 0) {
      this.backoffTimer ??= setTimeout(() => {
        this.backoffTimer = undefined;
        this.scale();
      }, wait);
      return;
    }
    for (let n = count; n < wanted; n++) void this.startOne(this.queue.length > 0).catch(() => undefined);
  }

  /** Stops instances idle for idleTimeoutMs beyond minInstances, and any beyond maxInstances. */
  evictIdle(now: number): void {
    if (this.draining || this.queue.length > 0) return;
    const { minInstances, maxInstances, idleTimeoutMs } = this.scaling;
    const running = [...this.members].filter((i) => i.state !== 'stopping' && i.state !== 'exited');
    const idle = running
      .filter((i) => i.state === 'ready' && i.inFlight === 0)
      .sort((a, b) => a.idleSince - b.idleSince);
    let count = running.length;
    for (const instance of idle) {
      const overMax = count > maxInstances;
      const expired = now - instance.idleSince >= idleTimeoutMs && count > minInstances;
      if (!overMax && !expired) continue;
      count--;
      this.members.delete(instance);
      this.deps.events.emit('evict', {
        deployment: this.deployment,
        instanceId: instance.id,
        pid: instance.pid,
      });
      void instance.stop(1000);
    }
  }

  /**
   * Stops taking work: queued invocations are still served (by the instances there are, or new ones)
   * up to graceMs, in-flight invocations finish, then every instance stops.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + graceMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new SkiffError('SKIFF_E_SHUTTING_DOWN', 'the function version was stopped; retry'));
    }
    clearTimeout(this.backoffTimer);
    const left = Math.max(0, deadline - Date.now());
    const instances = [...this.members];
    this.members.clear();
    await Promise.all(instances.map((i) => i.stop(left)));
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Slots of instances still starting or not started yet (within maxInstances): a call may wait for
   * those on top of maxQueue, so that a scaled-to-zero function takes calls with maxQueue 0 too.
   */
  private slotsComing(): number {
    let ready = 0;
    for (const i of this.members) if (i.state === 'ready') ready++;
    return Math.max(0, this.scaling.maxInstances - ready) * this.scaling.concurrency;
  }

  /** The least-loaded instance with a free slot. */
  private pick(): I | undefined {
    let best: I | undefined;
    for (const i of this.members) {
      if (!i.accepting || i.inFlight >= this.scaling.concurrency) continue;
      if (best === undefined || i.inFlight < best.inFlight) best = i;
    }
    return best;
  }

  private run(instance: I, inv: Invocation): Promise<Result> {
    const call = instance.invoke(inv, this.deps.timeoutFor(this.deployment, inv));
    call.then(
      () => {
        this.failures = 0;
      },
      (err: unknown) => {
        // A crash is recorded once, when the instance exits.
        const error = toSkiffError(err);
        if (error.code !== 'SKIFF_E_INSTANCE_CRASHED' && error.code !== 'SKIFF_E_OUT_OF_MEMORY') {
          this.recordRecent(error);
        }
      },
    );
    return call;
  }

  /** Hands queued invocations to free slots, oldest first. */
  private pump(): void {
    while (this.queue.length > 0) {
      const instance = this.pick();
      if (instance === undefined) break;
      const waiter = this.queue.shift() as Waiter;
      clearTimeout(waiter.timer);
      this.run(instance, waiter.inv).then(waiter.resolve, waiter.reject);
    }
    if (this.queue.length > 0) this.scale();
  }

  private startOne(cold: boolean, retried = false): Promise<void> {
    const warm = this.deps.takeWarm(this.deployment);
    const instance = warm ?? this.deps.create(this.deployment);
    this.members.add(instance);
    this.starts++;
    if (cold) this.coldStarts++;
    instance.onChange = (i) => this.onInstanceChange(i);
    const started = warm === undefined ? instance.start() : instance.specialise(this.deployment);
    const starting = started.then(
      () => {
        this.starting.delete(instance);
        this.pump();
      },
      (err: unknown) => {
        this.starting.delete(instance);
        this.members.delete(instance);
        instance.kill();
        const error = toSkiffError(err);
        // bubblewrap on some kernels now and then fails to set up a new sandbox's loopback: once more
        if (!retried && !this.draining && isTransientSandboxFailure(error.details)) {
          this.starts--;
          if (cold) this.coldStarts--;
          return this.startOne(cold, true);
        }
        if (!this.draining) this.failed(error);
        // Nobody else can serve the queue: tell the callers why rather than let them wait it out.
        if (this.members.size === 0) {
          for (const w of this.queue.splice(0)) {
            clearTimeout(w.timer);
            w.reject(error);
          }
        }
        throw error;
      },
    );
    this.starting.set(instance, starting);
    return starting;
  }

  private onInstanceChange(instance: I): void {
    if (instance.state !== 'exited') {
      this.pump();
      return;
    }
    const wasLive = this.members.delete(instance);
    // An exit during start-up is handled where the start fails; a stop we asked for is no failure.
    if (wasLive && instance.startedAt !== null && !this.draining) {
      this.failed(
        instance.oomKilled
          ? new SkiffError('SKIFF_E_OUT_OF_MEMORY', `instance ${instance.pid ?? ''} ran out of memory`)
          : new SkiffError(
              'SKIFF_E_INSTANCE_CRASHED',
              `instance ${instance.pid ?? ''} exited (${instance.exitReason ?? 'unknown'})`,
            ),
      );
      this.scale();
    }
  }

  private failed(error: SkiffError): void {
    this.recordRecent(error);
    this.failures++;
    if (this.failures >= 2) {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 2));
      this.backoffUntil = Date.now() + delay;
    }
  }

  /** Keeps an error worth showing in the function's status in `recentErrors` (the last few); returns it. */
  private recordRecent(error: SkiffError): SkiffError {
    if (NOTEWORTHY.has(error.code)) {
      this.recentErrors.push({ at: new Date().toISOString(), code: error.code, message: error.message });
      if (this.recentErrors.length > RECENT_ERRORS) this.recentErrors.shift();
    }
    return error;
  }
}
