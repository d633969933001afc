/**
 * Red team (found, then fixed by functions.maxChainCasts and casts keyed per attempt): casts did not
 * count against the chain budget (functions.maxChainCalls bounds the calls in
 * flight under one root, not the work a root causes), and each cast's run may cast again down to
 * functions.maxCallDepth. So one client request makes fan-out^1 + … + fan-out^depth durable
 * invocations, each written (fsynced) to the queue and run: with the defaults (depth 8, any number of
 * casts per run, 32 targets per workflow alias) that is unbounded in practice; only the queue's byte cap
 * stops it, after it has taken the queue from everyone. The safe behaviour asserted here: the
 * invocations one root causes through casts stay within functions.maxChainCasts, and a retried attempt
 * that casts again gets the invocations its first attempt queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const CHAIN = 20;
const DEPTH = 3;

interface Row {
  id: string;
  function: string;
  status: string;
  rootId: string | null;
}

let p: TestPlatform | undefined;

afterEach(async () => {
  if (p === undefined) return;
  const dir = p.dataDir;
  await p.stop();
  await removeDir(dir);
  p = undefined;
});

async function rows(platform: TestPlatform, fns: string[]): Promise<Row[]> {
  const all: Row[] = [];
  for (const fn of fns) {
    const res = await platform.api(`/v1/invocations?function=${fn}&limit=10000`);
    expect(res.status).toBe(200);
    all.push(...((await res.json()) as { invocations: Row[] }).invocations);
  }
  return all;
}

/**
 * Polls until the casts one request caused exceed `limit` (stopping the storm's observation early, so
 * the test stays cheap) or all are final (nothing can cast any more); returns how many there were.
 */
async function settle(platform: TestPlatform, fns: string[], limit: number): Promise<number> {
  return waitFor(
    'the casts to settle or pass the limit',
    async () => {
      const seen = await rows(platform, fns);
      if (seen.length > limit) return seen.length;
      const open = seen.filter((r) => r.status === 'queued' || r.status === 'running');
      return open.length === 0 ? seen.length : undefined;
    },
    60_000,
  );
}

describe('cast amplification from one request', () => {
  it('a function casting to itself 5 times per run causes at most functions.maxChainCasts invocations', async () => {
    p = await startPlatform({
      config: { functions: { maxCallDepth: DEPTH, maxChainCasts: CHAIN }, async: { concurrency: 2 } },
    });
    await p.deployAll({ 'storm-cast': 'storm-cast' });
    const res = await p.call('/storm-cast/?n=5');
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // unbounded: 5 + 25 + 125 = 155 invocations at depth 3 (5^8 = 390 625 at the default depth 8)
    const caused = await settle(p, ['storm-cast'], CHAIN);
    expect(caused).toBeLessThanOrEqual(CHAIN);
  }, 90_000);

  it('a workflow alias mapped to 4 members, cast to once per run, causes at most functions.maxChainCasts invocations', async () => {
    p = await startPlatform({
      config: { functions: { maxCallDepth: DEPTH, maxChainCasts: CHAIN }, async: { concurrency: 2 } },
    });
    const members = ['ws-a', 'ws-b', 'ws-c', 'ws-d'];
    await p.deployAll(Object.fromEntries(members.map((m) => [m, 'storm-cast'])));
    const spec = { functions: Object.fromEntries(members.map((m) => [m, { out: members }])) };
    const applied = await p.api('/v1/workflows/storm', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    expect(applied.status).toBe(201);
    const res = await p.call('/ws-a/?n=1&to=out');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ cast: 1, refused: null });
    // unbounded: 4 + 16 + 64 = 84 at depth 3 (32 targets per alias at depth 8: 32^8 ≈ 10^12)
    const caused = await settle(p, members, CHAIN);
    expect(caused).toBeLessThanOrEqual(CHAIN);
  }, 90_000);
  it('a cast run that fails after casting does not cast again on each retry', async () => {
    p = await startPlatform({
      config: {
        functions: { maxCallDepth: DEPTH, maxChainCasts: CHAIN },
        async: { concurrency: 2, retries: 2, retryBaseMs: 50 },
      },
    });
    await p.deployAll({ 'storm-cast': 'storm-cast' });
    const res = await p.call('/storm-cast/?n=1&fail=1');
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // one cast per level: depth 1, 2 and 3 make 3 invocations; each failed attempt (3 per run) casts
    // again, so 1 + 3 + 9 = 13 are queued (at depth 8: 3^7 + … ≈ 3 280)
    const caused = await settle(p, ['storm-cast'], 100);
    expect(caused).toBe(DEPTH);
  }, 90_000);
});
