import { SkiffError, toSkiffError } from '../shared/errors.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { Deployment } from '../model/deployment.js';
import type { Instance } from './instance.js';
import type { PoolInstance } from './pool-instance.js';
import type { Scaling } from '../model/scaling.js';
import { isTransientSandboxFailure } from '../sandbox/bubblewrap.js';
import type { Evictable, Lease } from './budget.js';
import { takeWaiter, waitInQueue, type Waiter } from './pool-queue.js';
import { observeColdStart } from '../shared/probes.js';
import type { PoolDeps } from './pool-deps.js';
import { anotherServing, countReady, expiredIdle, idleByAge, leastLoaded } from './pool-evictable.js';
import {
  atCapacity,
  backoffMs,
  crashLoop,
  queueTimeout,
  recordRecent,
  type RecentError,
} from './pool-errors.js';

export type { RecentError } from './pool-errors.js';
export type { PoolDeps } from './pool-deps.js';

/**
 * The instances of one deployment: dispatch to the least-loaded instance with a free slot, a bounded FIFO
 * queue when every slot is taken, scale-up and -down, crashed ones replaced with a back-off.
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
  private readonly queue: Waiter[] = [];
  private draining = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private readonly starting = new Map<I, Promise<void>>();
  /** Starts waiting for room in the instance budget. */
  private readonly admitting = new Set<Promise<void>>();
  /** Deploys waiting in prepare(): the starts they wait for are urgent ones for the budget. */
  private preparing = 0;
  private readonly leases = new Map<I, Lease>();
  /** Instances giving their room back to another function (budget.ts, fair shares): no new work. */
  private readonly yielding = new WeakSet<I>();

  constructor(
    readonly deployment: Deployment,
    public scaling: Scaling,
    private readonly deps: PoolDeps<I>,
  ) {}

  get instances(): I[] {
    return [...this.members];
  }

  /** Its minInstances are ready, or starting them failed (the platform's readiness waits for no failing start). */
  get atMinimum(): boolean {
    if (this.failures > 0) return true;
    return countReady(this.members) >= Math.min(this.scaling.minInstances, this.scaling.maxInstances);
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    let n = 0;
    for (const i of this.members) n += i.inFlight;
    return n;
  }

  /**
   * Runs `inv` on the least-loaded instance with a free slot, else queues it (and scales up). `settled`,
   * when given, is called once when it settles (without a promise of its own when an instance was free).
   */
  invoke(inv: Invocation, settled?: () => void): Promise<Result> {
    if (this.queue.length === 0 && inv.signal?.aborted !== true) {
      const instance = this.pick();
      if (instance !== undefined) return this.run(instance, inv, settled);
    }
    const call = this.admit(inv);
    if (settled !== undefined) call.then(settled, settled);
    return call;
  }

  /** An invocation no instance is free for: refused (cancelled, over the queue, backing off) or queued. */
  private admit(inv: Invocation): Promise<Result> {
    if (inv.signal?.aborted === true) {
      return Promise.reject(
        new SkiffError('SKIFF_E_CANCELLED', 'the invocation was cancelled: its caller ended'),
      );
    }
    if (this.queue.length >= this.scaling.maxQueue + this.slotsComing()) {
      this.deps.events.emit('throttle', { deployment: this.deployment, instanceId: '', pid: null });
      return Promise.reject(
        recordRecent(this.recentErrors, atCapacity(this.deployment.function, this.scaling)),
      );
    }
    const backoffMs = this.backoffUntil - Date.now();
    if (backoffMs > 0 && this.members.size === 0) {
      return Promise.reject(crashLoop(this.deployment.function, this.failures, backoffMs));
    }
    const fn = this.deployment.function;
    const waitMs = this.scaling.maxQueueWaitMs;
    const waiting = waitInQueue(this.queue, inv, waitMs, (byDeadline) => {
      const error = queueTimeout(fn, waitMs, byDeadline, this.admitting.size > 0);
      return byDeadline ? error : recordRecent(this.recentErrors, error);
    });
    this.scale();
    // a start already waiting for room (for minInstances) is now one a call waits for
    if (this.admitting.size > 0) this.deps.idle?.();
    return waiting;
  }

  /** Resolves once an instance is ready, starting one if there is none (a deploy waits on this). */
  async prepare(): Promise<void> {
    for (const i of this.members) if (i.accepting) return;
    this.preparing++;
    try {
      if (this.starting.size > 0 || this.admitting.size > 0) {
        this.deps.idle?.(); // a start waiting for room is now one a deploy waits for
        await Promise.any([...this.starting.values(), ...this.admitting]).catch((err: unknown) => {
          throw (err as AggregateError).errors[0] ?? err;
        });
        return;
      }
      await this.startOne(false);
    } finally {
      this.preparing--;
    }
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
    let count = this.admitting.size;
    let capacity = count * concurrency;
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
    for (const instance of expiredIdle(this.members, this.scaling, now)) this.evict(instance);
  }

  /**
   * Idle instances the instance budget may stop for another start, least recently used first: ready
   * with nothing in flight and nothing queued; those that keep the function at minInstances are marked
   * `kept` (none once draining).
   */
  evictable(): Evictable[] {
    if (this.queue.length > 0) return [];
    const keep = this.draining ? 0 : this.scaling.minInstances;
    return idleByAge(this.members, keep, this.leases, (i) => this.evict(i));
  }

  private evict(instance: I): void {
    this.members.delete(instance);
    this.deps.events.emit('evict', {
      deployment: this.deployment,
      instanceId: instance.id,
      pid: instance.pid,
    });
    void instance.stop(1000);
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

  /** Whether a start waits for room in the instance budget. */
  get isAdmitting(): boolean {
    return this.admitting.size > 0;
  }

  /**
   * Slots of instances still starting or not started yet (within maxInstances): a call may wait for
   * those on top of maxQueue, so that a scaled-to-zero function takes calls with maxQueue 0 too.
   */
  private slotsComing(): number {
    return Math.max(0, this.scaling.maxInstances - countReady(this.members)) * this.scaling.concurrency;
  }

  /** The least-loaded instance with a free slot. */
  private pick(): I | undefined {
    return leastLoaded(this.members, this.scaling.concurrency, this.yielding);
  }

  private run(instance: I, inv: Invocation, settled?: () => void): Promise<Result> {
    const call = instance.invoke(inv, this.deps.timeoutFor(this.deployment, inv));
    call.then(
      () => {
        this.failures = 0;
        settled?.();
      },
      (err: unknown) => {
        settled?.();
        // A crash is recorded once, when the instance exits.
        const error = toSkiffError(err);
        if (error.code !== 'SKIFF_E_INSTANCE_CRASHED' && error.code !== 'SKIFF_E_OUT_OF_MEMORY') {
          recordRecent(this.recentErrors, error);
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
      const waiter = takeWaiter(this.queue, this.deployment.function);
      this.run(instance, waiter.inv).then(waiter.resolve, waiter.reject);
    }
    if (this.queue.length > 0) this.scale();
  }

  /** Starts one instance once the instance budget has room for it. */
  private startOne(cold: boolean): Promise<void> {
    const admit = this.deps.admit;
    if (admit === undefined) return this.launch(cold, undefined);
    const admitted: Promise<void> = admit(
      this.deployment,
      () => !this.draining || this.queue.length > 0,
      () => this.queue.length > 0 || this.preparing > 0,
    ).then(
      (lease) => {
        this.admitting.delete(admitted);
        if (lease === undefined) return;
        // drained between the budget's answer and this turn: its instances are gone, this one would
        // run outside any pool the executor knows, its lease never given back
        if (this.draining && this.queue.length === 0) {
          lease.release();
          return;
        }
        return this.launch(cold, lease);
      },
      (err: unknown) => {
        this.admitting.delete(admitted);
        throw err;
      },
    );
    this.admitting.add(admitted);
    return admitted;
  }

  private launch(cold: boolean, lease: Lease | undefined, retried = false): Promise<void> {
    const warm = this.deps.takeWarm(this.deployment);
    const instance = warm ?? this.deps.create(this.deployment);
    this.members.add(instance);
    if (lease !== undefined) this.leases.set(instance, lease);
    this.starts++;
    if (cold) this.coldStarts++;
    instance.onChange = (i) => this.onInstanceChange(i);
    const start = warm === undefined ? instance.start() : instance.specialise(this.deployment);
    const started = observeColdStart(start, cold, this.deployment.function);
    const starting = started.then(
      () => {
        this.starting.delete(instance);
        this.pump();
      },
      (err: unknown) => {
        this.starting.delete(instance);
        this.members.delete(instance);
        this.leases.delete(instance);
        instance.kill();
        const error = toSkiffError(err);
        // bubblewrap on some kernels now and then fails to set up a new sandbox's loopback: once more
        if (!retried && !this.draining && isTransientSandboxFailure(error.details)) {
          this.starts--;
          if (cold) this.coldStarts--;
          return this.launch(cold, lease, true);
        }
        lease?.release();
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
      this.yieldRoom(instance);
      this.pump();
      if (instance.inFlight === 0 && instance.state === 'ready') this.deps.idle?.();
      return;
    }
    this.leases.get(instance)?.release();
    this.leases.delete(instance);
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

  /**
   * While calls queue here and another function waits for room this one holds more than its share of,
   * an instance takes no more work and stops once it has none: the queued calls go to the others. Asked
   * again at every change: once that start is gone (served, or its call given up), it takes work again.
   */
  private yieldRoom(instance: I): void {
    if (instance.state !== 'ready' || this.draining) return;
    const yields =
      this.queue.length > 0 &&
      this.deps.shouldYield?.(this.deployment) === true &&
      anotherServing(this.members, instance, this.yielding);
    if (!yields) {
      this.yielding.delete(instance);
      return;
    }
    this.yielding.add(instance);
    if (instance.inFlight === 0) this.evict(instance);
  }

  private failed(error: SkiffError): void {
    recordRecent(this.recentErrors, error);
    this.failures++;
    if (this.failures >= 2) this.backoffUntil = Date.now() + backoffMs(this.failures);
  }
}
