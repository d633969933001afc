/**
 * The pool with the instance budget and the executor's settled callback, over fake instances
 * (test/helpers/pool-fakes.ts) on vitest's fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import { DEFAULT_SCALING } from '../model/scaling.js';
import { ExecutorEvents } from './events.js';
import { Pool } from './pool.js';
import type { Lease } from './budget.js';
import {
  deployment,
  FakeInstance,
  flush,
  invocation,
  makePool,
  track,
} from '../../test/helpers/pool-fakes.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('pool and the instance budget', () => {
  it('gives back a lease the budget granted after the pool was drained, and starts nothing', async () => {
    const created: FakeInstance[] = [];
    let grant: ((lease: Lease) => void) | undefined;
    let urgent: (() => boolean) | undefined;
    const pool = new Pool<FakeInstance>(
      deployment,
      { ...DEFAULT_SCALING, minInstances: 1 },
      {
        create: () => {
          const instance = new FakeInstance(`i${created.length + 1}`);
          created.push(instance);
          return instance;
        },
        takeWarm: () => undefined,
        timeoutFor: () => 30_000,
        events: new ExecutorEvents(),
        admit: (_d, _wanted, isUrgent) => {
          urgent = isUrgent;
          return new Promise<Lease | undefined>((resolve) => (grant = resolve));
        },
      },
    );
    pool.scale();
    expect(urgent?.()).toBe(false); // for minInstances: nobody waits for it
    // the budget answers in the same turn as the pool is drained (before the answer is read)
    let released = 0;
    grant?.({ memoryMb: 1, release: () => released++ });
    await pool.drain(0);
    await flush();
    expect(created).toHaveLength(0);
    expect(released).toBe(1);
  });
});

describe('pool settled callback', () => {
  it('calls settled once per invocation: served at once, failed, queued, or refused', async () => {
    const { pool, created } = makePool({ minInstances: 1, maxInstances: 1, concurrency: 1, maxQueue: 1 });
    pool.scale();
    const instance = created[0] as FakeInstance;
    instance.ready();
    await flush();
    const settled: string[] = [];
    const at = (id: string) => () => settled.push(id);
    const a = track(pool.invoke(invocation('a'), at('a')));
    const b = track(pool.invoke(invocation('b'), at('b')));
    const c = track(pool.invoke(invocation('c'), at('c')));
    await flush();
    expect(c.error?.code).toBe('SKIFF_E_TOO_MANY_REQUESTS');
    expect(settled).toEqual(['c']);
    instance.answer('a');
    await flush();
    expect(a.result?.status).toBe(200);
    expect(settled).toEqual(['c', 'a']);
    const fail = (err: SkiffError) => {
      instance.calls.shift()?.reject(err);
      instance.onChange?.(instance);
    };
    fail(new SkiffError('SKIFF_E_TIMEOUT', 'late'));
    await flush();
    expect(b.error?.code).toBe('SKIFF_E_TIMEOUT');
    expect(settled).toEqual(['c', 'a', 'b']);
    const d = track(pool.invoke(invocation('d'), at('d')));
    fail(new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'gone'));
    await flush();
    expect(d.error?.code).toBe('SKIFF_E_INSTANCE_CRASHED');
    expect(settled).toEqual(['c', 'a', 'b', 'd']);
  });
});

describe('pool yielding room to another function', () => {
  it('keeps serving its queue while its only other instance is still starting (that start may fail)', async () => {
    const created: FakeInstance[] = [];
    const pool = new Pool<FakeInstance>(
      deployment,
      { ...DEFAULT_SCALING, minInstances: 0, maxInstances: 2, concurrency: 1 },
      {
        create: () => {
          const instance = new FakeInstance(`i${created.length + 1}`);
          created.push(instance);
          return instance;
        },
        takeWarm: () => undefined,
        timeoutFor: () => 30_000,
        events: new ExecutorEvents(),
        shouldYield: () => true, // another function waits for room this one holds more than its share of
      },
    );
    const a = track(pool.invoke(invocation('a')));
    await flush();
    const first = created[0] as FakeInstance;
    first.ready();
    await flush();
    const b = track(pool.invoke(invocation('b'))); // queued: a second instance starts
    await flush();
    expect(created).toHaveLength(2);
    first.answer('a');
    await flush();
    expect(a.result?.status).toBe(200);
    // the second is not ready: the first takes b instead of stopping and leaving b to a start
    expect(first.state).toBe('ready');
    (created[1] as FakeInstance).failStart(new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'no'));
    await flush();
    first.answer('b');
    await flush();
    expect(b.result?.status).toBe(200);
    await pool.drain(0);
  });
});
