/**
 * Red team (round two): the exec bridge sweeps the processes a run left behind (setsid strays) only
 * once no run is in flight (runtimes/exec/strays.ts). A binary function that takes two runs at once
 * (scaling.concurrency 2) keeps one run in flight while another plants a stray: when the planting run
 * ends nothing is swept, and the stray reads the in-flight run's SKIFF_INVOCATION_ID from
 * /proc/<pid>/environ and casts through $SKIFF_API in that run's name (a cast the run never made,
 * shown as its child). Any function kept busy (a steady stream of requests) keeps its strays alive the
 * same way. The safe behaviour asserted: no cast is accepted in the name of a run that did not make it,
 * and the stray does not outlive its run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
  await p.deployAll({ survivor: 'api-survivor-busy', sink: 'cast-sink' });
}, 60_000);

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe('a process outliving its run while another run is in flight', () => {
  it('cannot cast in the name of the run still in flight', async () => {
    // warm the one instance first, so both runs below share it
    await (await p.call('/survivor/none', { method: 'POST', body: '' })).arrayBuffer();
    const report = p.call('/survivor/report', { method: 'POST', body: '' }).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 200)); // /report in flight (it sleeps 3 s)
    const planted = await p.call('/survivor/plant', { method: 'POST', body: '' });
    expect(await planted.text()).toContain('planted');
    const text = await report;
    const borrowed = /borrowed: (.*)/.exec(text)?.[1] ?? '';
    expect(text, text).toMatch(/setsid: \//);
    expect(borrowed.includes('"ids"'), `a stray cast in a running run's name: ${text}`).toBe(false);
    expect(text, 'the stray outlived its run').not.toMatch(/^stale:/m);
  }, 60_000);
});
