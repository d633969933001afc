/**
 * Fake instances and a pool over them for the pool's unit tests (src/executor/pool*.test.ts): no
 * processes; time is vitest's fake clock; an instance becomes ready, answers or exits when the test says.
 */
import { vi } from 'vitest';
import type { SkiffError } from '../../src/shared/errors.js';
import type { Deployment } from '../../src/model/deployment.js';
import type { Invocation, Result } from '../../src/model/invocation.js';
import { DEFAULT_LIMITS } from '../../src/model/limits.js';
import { DEFAULT_SCALING, type Scaling } from '../../src/model/scaling.js';
import { ExecutorEvents, type ExecutorEventName } from '../../src/executor/events.js';
import { Pool } from '../../src/executor/pool.js';
import type { InstanceState, PoolInstance } from '../../src/executor/pool-instance.js';

interface Call {
  inv: Invocation;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
}

/** An instance that starts, answers and exits only when the test says so. */
export class FakeInstance implements PoolInstance<FakeInstance> {
  state: InstanceState = 'starting';
  startedAt: Date | null = null;
  idleSince = Date.now();
  readonly pid = null;
  oomKilled = false;
  exitReason: string | undefined;
  onChange: ((instance: FakeInstance) => void) | undefined;
  readonly calls: Call[] = [];
  /** Every invocation it was handed, in order. */
  readonly served: string[] = [];
  /** The grace it was stopped with, once stopped. */
  stoppedWith: number | undefined;
  killed = false;
  private started: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(readonly id: string) {}

  get inFlight(): number {
    return this.calls.length;
  }

  get accepting(): boolean {
    return this.state === 'ready';
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => (this.started = { resolve, reject }));
  }

  specialise(): Promise<void> {
    return this.start();
  }

  invoke(inv: Invocation): Promise<Result> {
    this.served.push(inv.id);
    return new Promise((resolve, reject) => this.calls.push({ inv, resolve, reject }));
  }

  stop(graceMs: number): Promise<void> {
    this.stoppedWith = graceMs;
    this.state = 'stopping';
    return Promise.resolve();
  }

  kill(): void {
    this.killed = true;
  }

  /** The start succeeds: READY. */
  ready(): void {
    this.state = 'ready';
    this.startedAt = new Date();
    this.idleSince = Date.now();
    this.started?.resolve();
    this.onChange?.(this);
  }

  failStart(err: SkiffError): void {
    this.started?.reject(err);
  }

  /** Answers its oldest invocation in flight (or the one with this id) with a 200. */
  answer(id?: string): void {
    const index = id === undefined ? 0 : this.calls.findIndex((c) => c.inv.id === id);
    const [call] = this.calls.splice(index, 1);
    if (call === undefined) throw new Error(`${this.id} has no invocation ${id ?? ''} in flight`);
    call.resolve({ status: 200, headers: [], body: Buffer.from(call.inv.id) });
    if (this.calls.length === 0) this.idleSince = Date.now();
    this.onChange?.(this);
  }
}

export const deployment: Deployment = {
  function: 'fn',
  version: 1,
  hash: 'h',
  runtime: 'node',
  handler: 'index.js',
  startTimeoutMs: 10_000,
  codeDir: '/nowhere',
  env: {},
  secrets: {},
  timeoutMs: 30_000,
  command: null,
  scaling: DEFAULT_SCALING,
  limits: DEFAULT_LIMITS,
  network: 'none',
  flavor: 'native',
  showErrorText: false,
  callers: null,
  private: false,
};

export function invocation(id: string): Invocation {
  return {
    id,
    function: 'fn',
    trigger: 'http',
    method: 'POST',
    path: '/',
    query: '',
    headers: [],
    body: Buffer.alloc(0),
    deadline: 0,
    host: 'localhost',
  };
}

export function makePool(scaling: Partial<Scaling>) {
  const created: FakeInstance[] = [];
  const events = new ExecutorEvents();
  const seen: ExecutorEventName[] = [];
  for (const name of ['evict', 'throttle'] as const) events.on(name, () => seen.push(name));
  const pool = new Pool<FakeInstance>(
    deployment,
    { ...DEFAULT_SCALING, ...scaling },
    {
      create: () => {
        const instance = new FakeInstance(`i${created.length + 1}`);
        created.push(instance);
        return instance;
      },
      takeWarm: () => undefined,
      timeoutFor: () => 30_000,
      events,
    },
  );
  return { pool, created, seen };
}

/** Runs what is due now: promise callbacks and timers at the current fake time. */
export const flush = () => vi.advanceTimersByTimeAsync(0);

/** An invocation's outcome, recorded when it settles (a rejection is never left unhandled). */
export function track(call: Promise<Result>) {
  const outcome: { result?: Result; error?: SkiffError } = {};
  call.then(
    (result) => (outcome.result = result),
    (error: SkiffError) => (outcome.error = error),
  );
  return outcome;
}
