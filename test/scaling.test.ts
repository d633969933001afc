import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from './helpers/platform.js';
import { hasCallInFlight } from './helpers/function-status.js';
import { quietFor, waitFor, waitUntil } from './helpers/wait.js';

interface Status {
  function: {
    liveVersion: number;
    scaling: Record<string, number>;
    scalingOverride: Record<string, number> | null;
    instances: { pid: number; state: string; fromWarmPool: boolean; rssBytes: number | null }[];
    status: {
      queued: number;
      inFlight: number;
      coldStarts: number;
      failures: number;
      backoffUntil: string | null;
      recentErrors: { code: string }[];
    };
  };
}

async function status(p: TestPlatform, name: string): Promise<Status['function']> {
  return ((await (await p.api(`/v1/functions/${name}`)).json()) as Status).function;
}

/** Polls the function's status until `check` holds, for at most `ms`. */
async function until(
  p: TestPlatform,
  name: string,
  check: (s: Status['function']) => boolean,
  ms = 5000,
): Promise<Status['function']> {
  let last: Status['function'] | undefined;
  return waitFor(
    () => `the status of ${name} to match; it is ${JSON.stringify(last)}`,
    async () => {
      last = await status(p, name);
      return check(last) ? last : undefined;
    },
    ms,
  );
}

/** Waits until the warm pool holds a process of `runtime`. */
async function warmPoolHas(p: TestPlatform, runtime: 'node' | 'binary'): Promise<void> {
  await waitUntil(
    `a warm ${runtime} process`,
    async () => {
      const body = (await (await p.api('/v1/executor')).json()) as { warmPool: Record<string, number> };
      return (body.warmPool[runtime] ?? 0) > 0;
    },
    5_000,
  );
}

/** Sets a secret (which restarts the function's instances); resolves with the status. */
async function putSecret(p: TestPlatform, fn: string, name: string, value: string): Promise<number> {
  const res = await p.api(`/v1/functions/${fn}/secrets/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  return res.status;
}

const ready = (s: Status['function']) => s.instances.filter((i) => i.state === 'ready');

describe('executor scaling', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(async () => {
    await p.stop();
  });

  it('scales up to maxInstances under load, and back to zero after the idle timeout', async () => {
    expect((await p.deploy('sleepy', fixture('sleepy'))).status).toBe(201);
    const calls = await Promise.all(
      Array.from({ length: 6 }, () =>
        p.call('/sleepy?ms=400').then((r) => r.json() as Promise<{ instance: string }>),
      ),
    );
    const pids = new Set(calls.map((c) => c.instance));
    // concurrency 1 and 6 calls at once: as many instances as allowed, never more
    expect(pids.size).toBe(3);
    const busy = await status(p, 'sleepy');
    expect(busy.instances.length).toBeLessThanOrEqual(3);
    expect(busy.status.coldStarts).toBeGreaterThanOrEqual(2);
    // idleTimeoutMs 600: every instance stops, the function is scaled to zero
    await until(p, 'sleepy', (s) => s.instances.length === 0, 4000);
    const again = await p.call('/sleepy');
    expect(again.status).toBe(200);
    expect(pids.has(((await again.json()) as { instance: string }).instance)).toBe(false);
  });

  it('answers 429 with Retry-After at once when every slot and the queue are taken', async () => {
    expect(
      (await p.deploy('full', fixture('sleepy'), '?maxInstances=1&concurrency=1&maxQueue=1')).status,
    ).toBe(201);
    const running = p.call('/full?ms=800');
    await until(p, 'full', (s) => s.status.inFlight === 1 && s.status.queued === 0);
    const queued = p.call('/full?ms=10');
    await until(p, 'full', (s) => s.status.queued === 1);
    const started = Date.now();
    const refused = await p.call('/full');
    const refusedAfter = Date.now() - started;
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'SKIFF_E_TOO_MANY_REQUESTS',
    );
    // refused while the first call still runs: the 429 did not wait for a slot
    expect(refusedAfter).toBeLessThan(700);
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
  });

  it('answers 503 SKIFF_E_QUEUE_TIMEOUT to a call that waited past maxQueueWaitMs', async () => {
    expect(
      (await p.deploy('waits', fixture('sleepy'), '?maxInstances=1&concurrency=1&maxQueueWaitMs=200')).status,
    ).toBe(201);
    const running = p.call('/waits?ms=1000');
    await until(p, 'waits', (s) => s.status.inFlight === 1);
    const late = await p.call('/waits');
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('1');
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_QUEUE_TIMEOUT');
    expect((await running).status).toBe(200);
    expect((await status(p, 'waits')).status.recentErrors.map((e) => e.code)).toContain(
      'SKIFF_E_QUEUE_TIMEOUT',
    );
  });

  it('changes scaling without a redeploy: minInstances start at once, reset goes back to skiff.json', async () => {
    expect((await p.deploy('knobs', fixture('sleepy'))).status).toBe(201);
    const patched = await p.api('/v1/functions/knobs/scaling', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ minInstances: 2, concurrency: 5 }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      scaling: { minInstances: 2, maxInstances: 3, concurrency: 5, idleTimeoutMs: 600 },
      override: { minInstances: 2, concurrency: 5 },
    });
    // two instances, kept past the idle timeout, and still version 1
    const warm = await until(p, 'knobs', (s) => ready(s).length === 2);
    expect(warm.liveVersion).toBe(1);
    await quietFor(900, 'past the idle timeout (600 ms): the minimum instances must not be stopped');
    expect(ready(await status(p, 'knobs'))).toHaveLength(2);

    const bad = await p.api('/v1/functions/knobs/scaling', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ minInstances: 5 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'SKIFF_E_INVALID_SCALING', message: expect.stringContaining('maxInstances') as unknown },
    });
    const unknown = await p.api('/v1/functions/knobs/scaling', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replicas: 2 }),
    });
    expect(unknown.status).toBe(400);

    const reset = await p.api('/v1/functions/knobs/scaling', { method: 'DELETE' });
    expect(await reset.json()).toMatchObject({
      scaling: { minInstances: 0, concurrency: 1 },
      override: null,
    });
    await until(p, 'knobs', (s) => s.instances.length === 0, 4000);
  });

  it('does not count instance start-up against the invocation timeout', async () => {
    expect((await p.deploy('slow-load', fixture('slow-load'))).status).toBe(201);
    await until(p, 'slow-load', (s) => s.instances.length === 0, 4000);
    // a cold start that loads for 700 ms, with a 300 ms invocation timeout
    const res = await p.call('/slow-load');
    expect(res.status).toBe(200);
  });

  it('backs off a crash loop with 503 SKIFF_E_CRASH_LOOP, shows it in the status, and recovers', async () => {
    expect((await p.deploy('loops', fixture('crashy'))).status).toBe(201);
    expect((await p.call('/loops/exit')).status).toBe(502);
    // one crash: replaced at once
    expect((await p.call('/loops/exit')).status).toBe(502);
    // two in a row: the next start waits, and callers are told so at once
    const held = await p.call('/loops/pid');
    expect(held.status).toBe(503);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await held.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_CRASH_LOOP');
    const looping = await status(p, 'loops');
    expect(looping.status.failures).toBe(2);
    expect(looping.status.backoffUntil).not.toBeNull();
    expect(looping.status.recentErrors.filter((e) => e.code === 'SKIFF_E_INSTANCE_CRASHED')).toHaveLength(2);
    await until(p, 'loops', (s) => s.status.backoffUntil === null);
    const back = await p.call('/loops/pid');
    expect(back.status).toBe(200);
    expect((await status(p, 'loops')).status.failures).toBe(0);
  });

  it('shows each instance with its pid, memory and whether it came from the warm pool', async () => {
    // the earlier deploys took warm processes; wait until the pool has a Node bridge again
    await warmPoolHas(p, 'node');
    expect((await p.deploy('shown', fixture('sleepy'))).status).toBe(201);
    const s = await until(p, 'shown', (x) => ready(x).length === 1);
    const [instance] = s.instances;
    expect(instance?.pid).toBeGreaterThan(0);
    expect(instance?.rssBytes).toBeGreaterThan(1024 * 1024);
    // the deploy took the pre-started Node bridge rather than spawning one
    expect(instance?.fromWarmPool).toBe(true);
  });
});

describe('executor start-up limits and restarts', () => {
  it('caps invocations over all functions at executor.maxInFlight with 429', async () => {
    const p = await startPlatform({ config: { executor: { maxInFlight: 2 } } });
    try {
      await p.deployAll({ one: 'sleepy', two: 'sleepy' });
      const slow = [p.call('/one?ms=800'), p.call('/two?ms=800')];
      await waitUntil(
        'both calls to run',
        async () => (await hasCallInFlight(p, 'one')) && (await hasCallInFlight(p, 'two')),
        5_000,
      );
      const refused = await p.call('/one');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({
        error: {
          code: 'SKIFF_E_TOO_MANY_REQUESTS',
          message: expect.stringContaining('maxInFlight') as unknown,
        },
      });
      for (const res of await Promise.all(slow)) expect(res.status).toBe(200);
      expect((await p.call('/one')).status).toBe(200);
    } finally {
      await p.stop();
    }
  });

  it('answers 504 SKIFF_E_START_TIMEOUT when a cold start outlives functions.startTimeoutMs', async () => {
    const p = await startPlatform({ config: { functions: { startTimeoutMs: 300 } } });
    try {
      // the deploy's own start times out too, so the deploy fails with the reason
      const res = await p.deploy('too-slow', fixture('slow-load'));
      expect(res.status).toBe(422);
      expect(JSON.stringify(await res.json())).toContain('within 300 ms');
      // a function that loaded fast at deploy, and whose next start is slow
      await p.deployAll({ 'gets-slow': 'load-ms' });
      expect(await putSecret(p, 'gets-slow', 'LOAD_MS', '700')).toBe(204);
      const call = await p.call('/gets-slow');
      expect(call.status).toBe(504);
      expect(await call.json()).toMatchObject({
        error: { code: 'SKIFF_E_START_TIMEOUT', message: expect.stringContaining('300 ms') as unknown },
      });
    } finally {
      await p.stop();
    }
  });

  it('starts minInstances at platform start, before any call', async () => {
    const first = await startPlatform();
    expect((await first.deploy('kept', fixture('sleepy'), '?minInstances=1')).status).toBe(201);
    await first.stop();
    const second = await startPlatform({ dataDir: first.dataDir });
    try {
      const s = await until(second, 'kept', (x) => ready(x).length === 1);
      expect(s.scaling.minInstances).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('gives secrets to a binary function specialised from the warm pool', async () => {
    const p = await startPlatform({ config: { executor: { warmPool: { node: 0, python: 0, binary: 1 } } } });
    try {
      await warmPoolHas(p, 'binary');
      await p.deployAll({ 'bin-warm': 'secrets-bin' });
      expect(await putSecret(p, 'bin-warm', 'API_KEY', 'warm-secret')).toBe(204);
      // the secret restarted the instances; the next call specialises the replacement warm process
      await warmPoolHas(p, 'binary');
      const res = await p.call('/bin-warm');
      expect(await res.text()).toBe('warm-secret');
      const s = await status(p, 'bin-warm');
      expect(s.instances.map((i) => i.fromWarmPool)).toEqual([true]);
    } finally {
      await p.stop();
    }
  });
});
