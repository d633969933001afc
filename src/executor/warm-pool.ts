import type { RuntimeName } from '../model/spec.js';
import type { Logger } from '../shared/logger.js';
import type { Deployment } from '../model/deployment.js';
import type { Instance } from './instance.js';

/**
 * Variables that take effect when a process starts (the runtime's own options, the loader), so a
 * function that sets one needs a process started with it rather than a pre-started one.
 */
const STARTUP_ENV = /^(NODE_OPTIONS|NODE_PATH|NODE_EXTRA_CA_CERTS|LD_|PYTHON|MALLOC_|UV_THREADPOOL_SIZE)/;
/** Consecutive failed spawns after which a runtime's warm pool stops trying (and says so). */
const GIVE_UP_AFTER = 5;
/** The latest a taken process is replaced when it answers nothing (a start at deploy, a failed load). */
const REFILL_LATEST_MS = 250;
/**
 * Memory limits other than the default that get one warm process each (runtimes whose process is
 * sized by memory at its start, e.g. Node's heap): the most recently asked for, the oldest forgotten.
 */
const OTHER_SIZES = 2;

/**
 * Which processes can serve a function: its runtime, and for a runtime sized by memory a limit other
 * than the default (`memoryMb`); undefined: the default.
 */
type ClassKey = string;
function classKey(runtime: RuntimeName, memoryMb: number | undefined): ClassKey {
  return memoryMb === undefined ? runtime : `${runtime}:${memoryMb}`;
}

/** What the warm pool needs of a process: the executor's `Instance`, or a test's fake. */
export interface WarmInstance<Self> {
  readonly state: string;
  fromWarmPool: boolean;
  onChange: ((instance: Self) => void) | undefined;
  afterFirstSettle: (() => void) | undefined;
  spawn(): Promise<void>;
  stop(graceMs: number): Promise<void>;
  kill(): void;
}

/**
 * Pre-started generic bridge processes per runtime, with no user code loaded: a cold start takes one
 * and sends it the function (INIT) instead of starting a process. Each one taken is replaced, but never
 * on the cold start's path: starting a process forks the platform, which stalls its event loop for
 * milliseconds (more the larger the platform's memory), so the replacement starts only once the taken
 * process answered its first invocation (after that reply was written: a `setImmediate` after the
 * answer), or REFILL_LATEST_MS after the take if it answers nothing.
 */
export class WarmPool<I extends WarmInstance<I> = Instance> {
  private readonly idle = new Map<ClassKey, Set<I>>();
  private readonly spawning = new Map<ClassKey, number>();
  private readonly failures = new Map<ClassKey, number>();
  /** The other memory limits kept warm (one process each), oldest first: class → runtime, limit. */
  private readonly others = new Map<ClassKey, { runtime: RuntimeName; memoryMb: number }>();
  /** Told once a spawn under way settles (a deploy waiting for the refill rather than spawning). */
  private readonly settled = new Map<ClassKey, (() => void)[]>();
  private stopped = false;

  /**
   * `create(runtime, memoryMb)`: a generic process, sized for `memoryMb` when given (a runtime sized
   * by memory), else for the default limits.
   */
  constructor(
    private readonly sizes: Partial<Record<RuntimeName, number>>,
    private readonly create: (runtime: RuntimeName, memoryMb?: number) => I,
    private readonly logger: Logger,
  ) {}

  /** Starts filling every runtime's pool (in the background). */
  fill(): void {
    for (const runtime of Object.keys(this.sizes) as RuntimeName[]) this.refill(runtime);
  }

  /**
   * A warm process that can load `deployment`, or undefined (the caller starts a process itself).
   * `memoryMb`: the function's memory limit when it is not the default and the runtime's processes
   * are sized by it; a miss then keeps one process of that size warm from now on (OTHER_SIZES at
   * most, the least recently asked for forgotten), started later, off this cold start's path.
   * `refillNow`: the replacement starts at once rather than after the first answer (a deploy's start,
   * which answers no invocation and is no request's path: the next deploy finds it warm).
   */
  take(deployment: Deployment, memoryMb?: number, refillNow = false): I | undefined {
    if (this.stopped) return undefined;
    // warm processes are started with network "none": never one for a function with another network
    if (deployment.network !== 'none') return undefined;
    const vars = [...Object.keys(deployment.env), ...Object.keys(deployment.secrets)];
    if (vars.some((name) => STARTUP_ENV.test(name))) return undefined;
    const runtime = deployment.runtime;
    if ((this.sizes[runtime] ?? 0) < 1) return undefined;
    const key = classKey(runtime, memoryMb);
    if (memoryMb !== undefined) this.remember(key, runtime, memoryMb);
    const set = this.idle.get(key);
    const instance = set?.values().next().value;
    if (set === undefined || instance === undefined) {
      if (memoryMb !== undefined && (this.spawning.get(key) ?? 0) === 0) {
        setTimeout(() => this.refill(key), REFILL_LATEST_MS).unref();
      }
      return undefined;
    }
    set.delete(instance);
    instance.fromWarmPool = true;
    instance.onChange = undefined;
    if (refillNow) setImmediate(() => this.refill(key));
    else this.refillAfter(instance, key);
    return instance;
  }

  /**
   * Resolves when `runtime` (of the default limits, or of `memoryMb`) has a warm process waiting, or
   * none is being started (then at once), or after `maxWaitMs`: a deploy waits for a refill under way
   * rather than starting a process of its own next to it (two spawns on the same cores, each slower,
   * and one more process to stop).
   */
  whenWarm(runtime: RuntimeName, maxWaitMs: number, memoryMb?: number): Promise<void> {
    const key = classKey(runtime, memoryMb);
    if ((this.idle.get(key)?.size ?? 0) > 0 || (this.spawning.get(key) ?? 0) === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      let list = this.settled.get(key);
      if (list === undefined) this.settled.set(key, (list = []));
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Marks a memory limit as recently asked for; forgets (and stops) the oldest beyond OTHER_SIZES. */
  private remember(key: ClassKey, runtime: RuntimeName, memoryMb: number): void {
    this.others.delete(key);
    this.others.set(key, { runtime, memoryMb });
    for (const [old] of this.others) {
      if (this.others.size <= OTHER_SIZES) break;
      this.others.delete(old);
      const set = this.idle.get(old);
      this.idle.delete(old);
      for (const instance of set ?? []) void instance.stop(500);
    }
  }

  /** Replaces a taken process after its first answer (or REFILL_LATEST_MS), off the cold path. */
  private refillAfter(instance: I, runtime: ClassKey): void {
    let done = false;
    const refill = () => {
      if (done) return;
      done = true;
      clearTimeout(latest);
      instance.afterFirstSettle = undefined;
      // after the answer's own continuations (the reply written), then the spawn
      setImmediate(() => this.refill(runtime));
    };
    const latest = setTimeout(refill, REFILL_LATEST_MS);
    latest.unref();
    instance.afterFirstSettle = refill;
  }

  /** Processes waiting, per runtime (of the default limits). */
  counts(): Partial<Record<RuntimeName, number>> {
    return this.countsOf((key) => !key.includes(':'));
  }

  /** Processes waiting for another memory limit, per `runtime:memoryMb`. */
  otherCounts(): Record<string, number> {
    return this.countsOf((key) => key.includes(':'));
  }

  private countsOf(which: (key: ClassKey) => boolean): Record<string, number> {
    return Object.fromEntries(
      [...this.idle].filter(([key]) => which(key)).map(([key, set]) => [key, set.size]),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiting of this.settled.values()) for (const tell of waiting) tell();
    this.settled.clear();
    const all: I[] = [...this.idle.values()].flatMap((set) => [...set]);
    this.idle.clear();
    await Promise.all(all.map((i) => i.stop(500)));
  }

  private refill(runtime: ClassKey): void {
    const other = this.others.get(runtime);
    // one process for another memory limit while it is remembered, none once forgotten
    const want =
      other !== undefined ? 1 : runtime.includes(':') ? 0 : (this.sizes[runtime as RuntimeName] ?? 0);
    const have = (this.idle.get(runtime)?.size ?? 0) + (this.spawning.get(runtime) ?? 0);
    for (let n = have; n < want && !this.stopped; n++) this.spawnOne(runtime, other);
  }

  private spawnOne(runtime: ClassKey, other: { runtime: RuntimeName; memoryMb: number } | undefined): void {
    if ((this.failures.get(runtime) ?? 0) >= GIVE_UP_AFTER) return;
    const instance =
      other === undefined ? this.create(runtime as RuntimeName) : this.create(other.runtime, other.memoryMb);
    this.spawning.set(runtime, (this.spawning.get(runtime) ?? 0) + 1);
    const done = (): void => {
      this.spawning.set(runtime, (this.spawning.get(runtime) ?? 1) - 1);
      // after the process joined the idle set (or failed): whoever waits takes it, or spawns
      const waiting = this.settled.get(runtime);
      if (waiting !== undefined) {
        this.settled.delete(runtime);
        queueMicrotask(() => {
          for (const tell of waiting) tell();
        });
      }
    };
    instance.spawn().then(
      () => {
        done();
        if (this.stopped || (runtime.includes(':') && !this.others.has(runtime))) {
          void instance.stop(500); // stopped, or its memory limit forgotten meanwhile
          return;
        }
        this.failures.set(runtime, 0);
        let set = this.idle.get(runtime);
        if (set === undefined) this.idle.set(runtime, (set = new Set()));
        set.add(instance);
        // A warm process that dies before it is used is replaced.
        const own = set;
        instance.onChange = (i) => {
          if (i.state === 'exited' && own.delete(i)) this.refill(runtime);
        };
      },
      (err: unknown) => {
        done();
        instance.kill();
        const failures = (this.failures.get(runtime) ?? 0) + 1;
        this.failures.set(runtime, failures);
        if (failures >= GIVE_UP_AFTER) {
          this.logger.error(
            { err, runtime },
            'the warm pool cannot start this runtime; cold starts will spawn',
          );
          return;
        }
        setTimeout(() => this.refill(runtime), 200 * failures).unref();
      },
    );
  }
}
