/**
 * Red team: the async queue delivers in due order over all functions (`ORDER BY next_at`) with one
 * shared concurrency (async.concurrency). One function that casts a backlog to a slow target in a loop
 * (2000 casts a second are accepted) makes every other function's async invocations, casts, cron and
 * MQTT deliveries wait behind all of it. Asserted: with 200 slow casts waiting for one function, another
 * function's async invocation still runs within 5 s (a fair share per function, not one FIFO).
 */
import { mkdtemp, cp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { TMP_PREFIX } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  p = await startPlatform({ config: { async: { concurrency: 2 } } });
  const slow = path.join(dir, 'slow');
  await cp(fixture('cast-sink'), slow, { recursive: true });
  await writeFile(
    path.join(slow, 'skiff.json'),
    JSON.stringify({ runtime: 'node', env: { SLEEP_MS: '200' } }),
  );
  expect((await p.deploy('slow', slow)).status).toBe(201);
  await p.deployAll({ hog: 'cast-node', other: 'echo-cjs' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a backlog of casts for one function', () => {
  it('does not hold back another function’s async invocation', async () => {
    const res = await p.call('/hog/fanout?n=200&to=slow', { method: 'POST', body: '' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const t0 = Date.now();
    const other = await p.call('/other', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'hi',
    });
    expect(other.status).toBe(202);
    const { id } = (await other.json()) as { id: string };
    const waited = await waitFor(
      'the other function’s invocation to end (or 5 s)',
      async () => {
        const r = await p.api(`/v1/invocations/${id}`);
        const { invocation } = (await r.json()) as { invocation: { status: string } };
        if (invocation.status === 'succeeded') return Date.now() - t0;
        return Date.now() - t0 > 5_000 ? Number.POSITIVE_INFINITY : undefined;
      },
      30_000,
    );
    const slowDone = (
      (await (await p.api('/v1/invocations?function=slow&status=succeeded&limit=1000')).json()) as {
        invocations: unknown[];
      }
    ).invocations.length;
    expect(waited, `still waiting after 5 s, behind ${200 - slowDone} casts to slow`).toBeLessThan(5_000);
  }, 60_000);
});
