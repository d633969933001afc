/**
 * Red team (round two): the chain cast budget (functions.maxChainCasts) is counted from the queue's
 * rows (`chainSize`: rows whose root_id is the chain's root), but final rows are pruned by retention,
 * by age (async.retention.succeededMs, a day by default, while a cast may wait up to a day) and by
 * count and bytes (async.retention.maxRecords / maxBytes, which any client filling the queue with
 * cheap invocations pushes). Once a chain's finished casts are pruned they no longer count, and the
 * chain casts again: the budget bounds what a chain holds in the queue at once, not what it makes in
 * all. Here retention keeps 5 final records; a function casting itself 5 times per run, 3 deep, would
 * run 1 + 5 + 25 + 125 = 156 times unbounded. The safe behaviour asserted: its runs stay within
 * 1 + functions.maxChainCasts (the root and its casts), pruned or not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const CHAIN = 20;

let p: TestPlatform | undefined;

afterEach(async () => {
  if (p === undefined) return;
  const dir = p.dataDir;
  await p.stop();
  await removeDir(dir);
  p = undefined;
});

describe('the chain cast budget under retention', () => {
  it('counts the casts whose records were pruned', async () => {
    p = await startPlatform({
      config: {
        functions: { maxCallDepth: 3, maxChainCasts: CHAIN },
        async: { concurrency: 2, retention: { maxRecords: 5 } },
      },
    });
    await p.deployAll({ 'prune-storm': 'prune-storm' });
    const platform = p;
    const res = await platform.call('/prune-storm/?n=5');
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // runs counted from the logs (they outlive the pruned records); stop watching once past the budget
    const runs = await waitFor(
      'the chain to settle or pass its budget',
      async () => {
        const ran = (await platform.logs('prune-storm')).filter((l) => l.message.startsWith('ran ')).length;
        if (ran > CHAIN + 1) return ran;
        const open = await platform.api('/v1/invocations?function=prune-storm&limit=1000');
        const { invocations } = (await open.json()) as { invocations: { status: string }[] };
        const waiting = invocations.filter((r) => r.status === 'queued' || r.status === 'running');
        return waiting.length === 0 && ran > 1 ? ran : undefined;
      },
      60_000,
    );
    expect(runs, `runs of one chain with maxChainCasts ${CHAIN}`).toBeLessThanOrEqual(CHAIN + 1);
  }, 90_000);
});
