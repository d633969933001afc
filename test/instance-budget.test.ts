/**
 * The platform-wide instance budget (executor.budget) on the real platform: a start that does not fit
 * stops the least recently used idle instance; an instance with a call in flight is never stopped; with
 * every instance busy, the next start waits for room instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from './helpers/platform.js';
import { functionStatus, hasCallInFlight } from './helpers/function-status.js';
import { waitUntil } from './helpers/wait.js';

/** The function's instances that are alive (not stopping). */
async function running(p: TestPlatform, name: string): Promise<number> {
  const s = await functionStatus(p, name);
  return s.instances.filter((i) => i.state === 'ready' || i.state === 'starting').length;
}

async function counts(p: TestPlatform): Promise<{ a: number; b: number; c: number }> {
  return { a: await running(p, 'a'), b: await running(p, 'b'), c: await running(p, 'c') };
}

async function executorBudget(p: TestPlatform): Promise<{
  memoryMb: number;
  instances: number;
  usedMemoryMb: number;
  usedInstances: number;
  waiting: number;
}> {
  const body = (await (await p.api('/v1/executor')).json()) as {
    budget: Awaited<ReturnType<typeof executorBudget>>;
  };
  return body.budget;
}

describe('the instance budget', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startPlatform({ config: { executor: { budget: { instances: 2 } } } });
  });
  afterAll(async () => {
    await p.stop();
  });

  it('stops the least recently used idle instance for a new one, never one with a call in flight', async () => {
    // each deploy starts its version once; the third does not fit, so the oldest idle one (a) stops
    for (const name of ['a', 'b', 'c']) {
      expect((await p.deploy(name, fixture('sleepy'))).status).toBe(201);
      // idle instances stay (the fixture's own idle time is short): only the budget stops them
      const patched = await p.api(`/v1/functions/${name}/scaling`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idleTimeoutMs: 60_000 }),
      });
      expect(patched.status).toBe(200);
    }
    await waitUntil('a to be stopped', async () => (await running(p, 'a')) === 0, 5_000);
    expect(await counts(p)).toEqual({ a: 0, b: 1, c: 1 });
    const budget = await executorBudget(p);
    expect(budget).toMatchObject({ instances: 2, waiting: 0 });
    expect(budget.usedInstances).toBeLessThanOrEqual(2);
    expect(budget.memoryMb).toBeGreaterThanOrEqual(budget.usedMemoryMb);

    // b is now the least recently used, but it has a call in flight: c stops for a instead
    const slow = p.call('/b?ms=1500');
    await waitUntil('the call to b to run', () => hasCallInFlight(p, 'b'), 5_000);
    expect((await p.call('/a')).status).toBe(200);
    expect(await running(p, 'b')).toBe(1);
    await waitUntil('c to be stopped', async () => (await running(p, 'c')) === 0, 5_000);
    expect((await slow).status).toBe(200);
    expect(await counts(p)).toEqual({ a: 1, b: 1, c: 0 });
  });

  it('makes a start wait for room while every instance is busy', async () => {
    const busy = [p.call('/a?ms=800'), p.call('/b?ms=800')];
    await waitUntil(
      'both calls to run',
      async () => (await hasCallInFlight(p, 'a')) && (await hasCallInFlight(p, 'b')),
      5_000,
    );
    // c cannot start before a or b has finished; then it is served (not refused)
    const waiting = p.call('/c');
    for (const res of await Promise.all(busy)) expect(res.status).toBe(200);
    expect((await waiting).status).toBe(200);
    const now = await counts(p);
    expect(now.a + now.b + now.c).toBeLessThanOrEqual(2);
    expect(now.c).toBe(1);
  });
});
