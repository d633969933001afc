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
  private readonly idle = new Map<RuntimeName, Set<I>>();
  private readonly spawning = new Map<RuntimeName, number>();
  private readonly failures = new Map<RuntimeName, number>();
  /** Told once a spawn under way settles (a deploy waiting for the refill rather than spawning). */
  private readonly settled = new Map<RuntimeName, (() => void)[]>();
  private stopped = false;

  constructor(
    private readonly sizes: Partial<Record<RuntimeName, number>>,
    private readonly create: (runtime: RuntimeName) => I,
    private readonly logger: Logger,
  ) {}

  /** Starts filling every runtime's pool (in the background). */
  fill(): void {
    for (const runtime of Object.keys(this.sizes) as RuntimeName[]) this.refill(runtime);
  }

  /**
   * A warm process that can load `deployment`, or undefined (the caller starts a process itself).
   * `refillNow`: the replacement starts at once rather than after the first answer (a deploy's start,
   * which answers no invocation and is no request's path: the next deploy finds it warm).
   */
  take(deployment: Deployment, refillNow = false): I | undefined {
    if (this.stopped) return undefined;
    // warm processes are started with network "none": never one for a function with another network
    if (deployment.network !== 'none') return undefined;
    const vars = [...Object.keys(deployment.env), ...Object.keys(deployment.secrets)];
    if (vars.some((name) => STARTUP_ENV.test(name))) return undefined;
    const set = this.idle.get(deployment.runtime);
    const instance = set?.values().next().value;
    if (set === undefined || instance === undefined) return undefined;
    set.delete(instance);
    instance.fromWarmPool = true;
    instance.onChange = undefined;
    if (refillNow) setImmediate(() => this.refill(deployment.runtime));
    else this.refillAfter(instance, deployment.runtime);
    return instance;
  }

  /**
   * Resolves when `runtime` has a warm process waiting, or none is being started (then at once), or
   * after `maxWaitMs`: a deploy waits for a refill under way rather than starting a process of its own
   * next to it (two spawns on the same cores, each slower, and one more process to stop).
   */
  whenWarm(runtime: RuntimeName, maxWaitMs: number): Promise<void> {
    if ((this.idle.get(runtime)?.size ?? 0) > 0 || (this.spawning.get(runtime) ?? 0) === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      let list = this.settled.get(runtime);
      if (list === undefined) this.settled.set(runtime, (list = []));
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Replaces a taken process after its first answer (or REFILL_LATEST_MS), off the cold path. */
  private refillAfter(instance: I, runtime: RuntimeName): void {
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

  /** Processes waiting, per runtime. */
  counts(): Partial<Record<RuntimeName, number>> {
    return Object.fromEntries([...this.idle].map(([runtime, set]) => [runtime, set.size]));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiting of this.settled.values()) for (const tell of waiting) tell();
    this.settled.clear();
    const all: I[] = [...this.idle.values()].flatMap((set) => [...set]);
    this.idle.clear();
    await Promise.all(all.map((i) => i.stop(500)));
  }

  private refill(runtime: RuntimeName): void {
    const want = this.sizes[runtime] ?? 0;
    const have = (this.idle.get(runtime)?.size ?? 0) + (this.spawning.get(runtime) ?? 0);
    for (let n = have; n < want && !this.stopped; n++) this.spawnOne(runtime);
  }

  private spawnOne(runtime: RuntimeName): void {
    if ((this.failures.get(runtime) ?? 0) >= GIVE_UP_AFTER) return;
    const instance = this.create(runtime);
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
        if (this.stopped) {
          void instance.stop(500);
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
