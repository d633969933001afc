/**
 * Red team (round two): the fair share of async slots is per target function
 * (async.maxConcurrencyPerFunction), and within one function the queue is one FIFO (`ORDER BY
 * next_at`). Any function may cast to another unless the target lists access.callers, and the casts
 * are charged to the caster's queue bytes, but they run in the target's slots: a hostile function
 * that casts a backlog to an honest function makes that function's own clients' async invocations
 * wait behind all of it (200 casts of 200 ms each: 40 s). Asserted: with 200 slow casts from `hog`
 * waiting for `slow`, an async invocation of `slow` by its own client still runs within 5 s (a share
 * per caster within the target, not one FIFO).
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
  await p.deployAll({ hog: 'cast-node' });
}, 60_000);

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a backlog of casts from another function', () => {
  it('does not hold back the target’s own clients’ async invocations', async () => {
    const res = await p.call('/hog/fanout?n=200&to=slow', { method: 'POST', body: '' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const t0 = Date.now();
    const own = await p.call('/slow', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'mine',
    });
    expect(own.status).toBe(202);
    const { id } = (await own.json()) as { id: string };
    const waited = await waitFor(
      'the client’s invocation to end (or 5 s)',
      async () => {
        const r = await p.api(`/v1/invocations/${id}`);
        const { invocation } = (await r.json()) as { invocation: { status: string } };
        if (invocation.status === 'succeeded') return Date.now() - t0;
        return Date.now() - t0 > 5_000 ? Number.POSITIVE_INFINITY : undefined;
      },
      30_000,
    );
    expect(waited, 'the client’s own async invocation still waits after 5 s behind the casts').toBeLessThan(
      5_000,
    );
  }, 60_000);
});
