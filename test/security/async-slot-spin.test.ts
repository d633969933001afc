/**
 * Red team (round two): the per-function cap on async slots (async.maxConcurrencyPerFunction) made the
 * queue's worker spin. When every due row belongs to a function at its cap while slots are free, `claim`
 * returns nothing, `nextDue()` answers a time already past, and the worker sets a 0 ms timer and wakes
 * again: about a thousand wakes a second (each several SQLite statements on the event loop) for as
 * long as the capped function's backlog waits, which is exactly the case the cap exists for (one
 * function with a backlog, slots left for others). The safe behaviour asserted here: while one slow
 * async invocation runs and its function's backlog waits behind the cap, the platform's event loop
 * schedules few timers (it sleeps until an attempt ends or a new row comes), not a timer a millisecond.
 */
import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform({ config: { async: { concurrency: 4, maxConcurrencyPerFunction: 1 } } });
  await p.deployAll({ sleepy: 'sleepy' });
}, 60_000);

afterAll(async () => {
  const dir = p.dataDir;
  await p.stop();
  await removeDir(dir);
});

/** How many timers this process creates over `ms` milliseconds. */
async function timersDuring(ms: number): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') n++;
    },
  });
  hook.enable();
  await new Promise((resolve) => setTimeout(resolve, ms));
  hook.disable();
  return n;
}

describe('the per-function async slot cap', () => {
  it('does not make the queue worker spin while a capped backlog waits', async () => {
    const idle = await timersDuring(1000);
    // 4 async invocations of one function, each sleeping 3 s: one runs, three wait behind the cap of 1
    for (let i = 0; i < 4; i++) {
      const res = await p.call('/sleepy/?ms=3000', { method: 'POST', headers: { 'x-skiff-async': 'true' } });
      expect(res.status).toBe(202);
      await res.arrayBuffer();
    }
    await waitFor(
      'one attempt running',
      async () => {
        const res = await p.api('/v1/invocations?function=sleepy&status=running');
        const { invocations } = (await res.json()) as { invocations: unknown[] };
        return invocations.length === 1 ? true : undefined;
      },
      10_000,
    );
    const busy = await timersDuring(1000);
    // a worker that sleeps until something changes makes a handful; a spinning one ~1000 a second
    expect(busy, `timers in 1 s: ${idle} idle, ${busy} while the backlog waits`).toBeLessThan(idle + 100);
  }, 60_000);
});
