/**
 * The pool's logic with fake instances passed in (no processes): scaling, the queue, dispatch and
 * draining. Time is vitest's fake clock; an instance becomes ready, answers or exits when the test says.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import type { Scaling } from '../model/scaling.js';
import { FakeInstance, flush, invocation, makePool, track } from '../../test/helpers/pool-fakes.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('pool scaling', () => {
  it('starts instances for demand up to maxInstances and no further', async () => {
    const { pool, created } = makePool({ maxInstances: 3, concurrency: 1, maxQueue: 10 });
    const calls = ['a', 'b', 'c', 'd', 'e'].map((id) => track(pool.invoke(invocation(id))));
    await flush();
    expect(created).toHaveLength(3);
    expect(pool.coldStarts).toBe(3);
    for (const instance of created) instance.ready();
    await flush();
    expect(created.map((i) => i.inFlight)).toEqual([1, 1, 1]);
    expect(pool.queued).toBe(2);
    expect(created).toHaveLength(3);
    for (const instance of created) instance.answer();
    await flush();
    expect(calls.filter((c) => c.result !== undefined)).toHaveLength(3);
    expect(pool.queued).toBe(0);
    expect(pool.inFlight).toBe(2);
  });

  it('scales to zero once the only instance was idle for idleTimeoutMs', async () => {
    const { pool, created, seen } = makePool({ minInstances: 0, idleTimeoutMs: 1_000 });
    const call = track(pool.invoke(invocation('a')));
    await flush();
    const [instance] = created as [FakeInstance];
    instance.ready();
    await flush();
    instance.answer();
    await flush();
    expect(call.result?.status).toBe(200);
    vi.advanceTimersByTime(999);
    pool.evictIdle(Date.now());
    expect(pool.members.size).toBe(1);
    expect(instance.stoppedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    pool.evictIdle(Date.now());
    expect(pool.members.size).toBe(0);
    expect(instance.stoppedWith).toBe(1_000);
    expect(seen).toEqual(['evict']);
  });

  it('keeps minInstances running when idle, and evicts only those beyond it', async () => {
    const { pool, created } = makePool({ minInstances: 2, concurrency: 1, idleTimeoutMs: 1_000 });
    pool.scale();
    expect(created).toHaveLength(2);
    for (const instance of created) instance.ready();
    await flush();
    // a third instance for a third call in flight at once
    const calls = ['a', 'b', 'c'].map((id) => track(pool.invoke(invocation(id))));
    await flush();
    expect(created).toHaveLength(3);
    created[2]?.ready();
    await flush();
    for (const instance of created) instance.answer();
    await flush();
    expect(calls.every((c) => c.result?.status === 200)).toBe(true);
    vi.advanceTimersByTime(10_000);
    pool.evictIdle(Date.now());
    expect(pool.members.size).toBe(2);
    expect(created.filter((i) => i.stoppedWith !== undefined)).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    pool.evictIdle(Date.now());
    expect(pool.members.size).toBe(2);
  });

  it('replaces an instance that crashed while ready', async () => {
    const { pool, created } = makePool({ minInstances: 1 });
    pool.scale();
    created[0]?.ready();
    await flush();
    const crashed = created[0] as FakeInstance;
    crashed.state = 'exited';
    crashed.exitReason = 'exit code 1';
    crashed.onChange?.(crashed);
    expect(pool.failures).toBe(1);
    expect(pool.recentErrors.map((e) => e.code)).toEqual(['SKIFF_E_INSTANCE_CRASHED']);
    expect(created).toHaveLength(2);
    expect(pool.members.has(crashed)).toBe(false);
  });
});

describe('pool queueing', () => {
  /** A pool with one ready instance serving one invocation at a time. */
  async function oneSlot(scaling: Partial<Scaling>) {
    const made = makePool({ maxInstances: 1, concurrency: 1, ...scaling });
    const prepared = made.pool.prepare();
    made.created[0]?.ready();
    await prepared;
    return { ...made, instance: made.created[0] as FakeInstance };
  }

  it('answers SKIFF_E_TOO_MANY_REQUESTS (429) once maxQueue invocations wait', async () => {
    const { pool, seen } = await oneSlot({ maxQueue: 2 });
    const calls = ['a', 'b', 'c', 'd'].map((id) => track(pool.invoke(invocation(id))));
    await flush();
    expect(pool.queued).toBe(2);
    const refused = calls[3]?.error;
    expect(refused?.code).toBe('SKIFF_E_TOO_MANY_REQUESTS');
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSec).toBe(1);
    expect(seen).toEqual(['throttle']);
    expect(calls.slice(0, 3).every((c) => c.error === undefined)).toBe(true);
  });

  it('answers SKIFF_E_QUEUE_TIMEOUT (503) to an invocation that waited maxQueueWaitMs', async () => {
    const { pool, instance } = await oneSlot({ maxQueue: 5, maxQueueWaitMs: 500 });
    const first = track(pool.invoke(invocation('a')));
    const waiting = track(pool.invoke(invocation('b')));
    await vi.advanceTimersByTimeAsync(499);
    expect(waiting.error).toBeUndefined();
    expect(pool.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.error?.code).toBe('SKIFF_E_QUEUE_TIMEOUT');
    expect(waiting.error?.status).toBe(503);
    expect(pool.queued).toBe(0);
    // the one that timed out is not served later
    instance.answer();
    await flush();
    expect(first.result?.status).toBe(200);
    expect(instance.served).toEqual(['a']);
  });

  it('serves queued invocations oldest first', async () => {
    const { pool, instance } = await oneSlot({ maxQueue: 10 });
    const ids = ['a', 'b', 'c', 'd'];
    const calls = ids.map((id) => track(pool.invoke(invocation(id))));
    await flush();
    for (let n = 0; n < ids.length; n++) {
      instance.answer();
      await flush();
    }
    expect(instance.served).toEqual(ids);
    expect(calls.map((c) => c.result?.body.toString())).toEqual(ids);
  });
});

describe('pool dispatch and draining', () => {
  it('hands an invocation to the least-loaded ready instance', async () => {
    const { pool, created } = makePool({ minInstances: 3, maxInstances: 3, concurrency: 10 });
    pool.scale();
    created[0]?.ready();
    created[1]?.ready();
    await flush();
    // the third is still starting: it gets nothing
    for (const id of ['a', 'b', 'c', 'd']) track(pool.invoke(invocation(id)));
    expect(created.map((i) => i.inFlight)).toEqual([2, 2, 0]);
    created[2]?.ready();
    await flush();
    track(pool.invoke(invocation('e')));
    expect(created.map((i) => i.inFlight)).toEqual([2, 2, 1]);
    created[1]?.answer();
    created[1]?.answer();
    await flush();
    track(pool.invoke(invocation('f')));
    expect(created.map((i) => i.inFlight)).toEqual([2, 1, 1]);
    expect(created[1]?.served).toEqual(['b', 'd', 'f']);
  });

  it('serves the queue while draining, then stops every instance with the grace left', async () => {
    const made = makePool({ minInstances: 1, maxInstances: 1, concurrency: 1 });
    const { pool, created } = made;
    pool.scale();
    const instance = created[0] as FakeInstance;
    instance.ready();
    await flush();
    const running = track(pool.invoke(invocation('a')));
    const queued = track(pool.invoke(invocation('b')));
    const drained = pool.drain(1_000);
    expect(pool.isDraining).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    instance.answer();
    await vi.advanceTimersByTimeAsync(10);
    expect(instance.served).toEqual(['a', 'b']);
    await drained;
    expect(running.result?.status).toBe(200);
    expect(queued.error).toBeUndefined();
    expect(instance.stoppedWith).toBe(890);
    expect(pool.members.size).toBe(0);
    // no minInstances while draining
    pool.scale();
    expect(created).toHaveLength(1);
  });

  it('fails what is still queued at the end of the grace with SKIFF_E_SHUTTING_DOWN', async () => {
    const { pool, created } = makePool({ minInstances: 1, maxInstances: 1, concurrency: 1 });
    pool.scale();
    const instance = created[0] as FakeInstance;
    instance.ready();
    await flush();
    track(pool.invoke(invocation('a')));
    const queued = track(pool.invoke(invocation('b')));
    const drained = pool.drain(200);
    await vi.advanceTimersByTimeAsync(200);
    await drained;
    expect(queued.error?.code).toBe('SKIFF_E_SHUTTING_DOWN');
    expect(instance.served).toEqual(['a']);
    expect(instance.stoppedWith).toBe(0);
  });

  it('fails the queue with the start error when no instance can start', async () => {
    const { pool, created } = makePool({ maxInstances: 1, concurrency: 1 });
    const call = track(pool.invoke(invocation('a')));
    await flush();
    created[0]?.failStart(new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'no'));
    await flush();
    expect(call.error?.code).toBe('SKIFF_E_INSTANCE_START_FAILED');
    expect(created[0]?.killed).toBe(true);
    expect(pool.members.size).toBe(0);
  });
});
