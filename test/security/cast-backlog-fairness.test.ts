/**
 * Red team (rounds one and two): the async queue used to deliver in due order over all functions with
 * one shared concurrency (async.concurrency), so one function casting a backlog to a slow target made
 * every other function's async invocations wait behind all of it; and once the fair share was per
 * target, a hostile function casting a backlog to an honest one still held back that function's own
 * clients. Asserted, with 200 slow casts (200 ms each, 2 slots) from `hog` waiting for `slow`: another
 * function's async invocation, and an async invocation of `slow` by its own client, each run within
 * 5 s (a share of the slots per function's own invocations and per caster's casts, not one FIFO).
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
}, 60_000);

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

/** 200 slow casts from `hog` to `slow`, queued. */
async function backlog(): Promise<void> {
  const res = await p.call('/hog/fanout?n=200&to=slow', { method: 'POST', body: '' });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/** An async invocation of `fn`: how long until it succeeded (Infinity past 5 s). */
async function asyncWait(fn: string, body: string): Promise<number> {
  const t0 = Date.now();
  const res = await p.call(`/${fn}`, { method: 'POST', headers: { 'x-skiff-async': 'true' }, body });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return waitFor(
    `the async invocation of ${fn} to end (or 5 s)`,
    async () => {
      const r = await p.api(`/v1/invocations/${id}`);
      const { invocation } = (await r.json()) as { invocation: { status: string } };
      if (invocation.status === 'succeeded') return Date.now() - t0;
      return Date.now() - t0 > 5_000 ? Number.POSITIVE_INFINITY : undefined;
    },
    30_000,
  );
}

describe('a backlog of casts', () => {
  it('does not hold back another function’s async invocation', async () => {
    await backlog();
    const waited = await asyncWait('other', 'hi');
    const slowDone = (
      (await (await p.api('/v1/invocations?function=slow&status=succeeded&limit=1000')).json()) as {
        invocations: unknown[];
      }
    ).invocations.length;
    expect(waited, `still waiting after 5 s, behind ${200 - slowDone} casts to slow`).toBeLessThan(5_000);
  }, 60_000);

  it('from another function does not hold back the target’s own clients’ async invocations', async () => {
    await backlog();
    const waited = await asyncWait('slow', 'mine');
    expect(waited, 'the client’s own async invocation still waits after 5 s behind the casts').toBeLessThan(
      5_000,
    );
  }, 60_000);
});
