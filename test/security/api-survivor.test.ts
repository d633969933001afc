/**
 * Red team: a binary function leaves a process behind its run (setsid takes it out of the run's process
 * group, which is all the exec bridge kills) and uses $SKIFF_API from it after the run ended: with the
 * ended run's id (must be 404 SKIFF_E_INVOCATION_NOT_FOUND), and with the id of a later run that it
 * reads from /proc/<pid>/environ. The second is work done in the name of an invocation that never asked
 * for it (a cast that shows up as that run's child, outliving its own run's deadline). Asserted: no
 * process outlives its run when no other run is in flight (the exec bridge sweeps strays then), so the
 * survivor never gets to try either; had it, the stale id is refused and no borrowed cast is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
  await p.deployAll({ survivor: 'api-survivor', sink: 'cast-sink' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe('a process outliving its run of a binary function', () => {
  it('cannot use $SKIFF_API with the ended run’s id, nor with a later run’s', async () => {
    const planted = await p.call('/survivor/plant', { method: 'POST', body: '' });
    expect(await planted.text()).toContain('planted');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the stale try happens 1 s after the run
    const report = await (await p.call('/survivor/report', { method: 'POST', body: '' })).text();
    const stale = /stale: (.*)/.exec(report)?.[1] ?? '';
    const borrowed = /borrowed: (.*)/.exec(report)?.[1] ?? '';
    // the survivor was started (setsid exists), and then either killed when its run ended (the
    // bridge sweeps strays once no run is in flight: it never got to try) or refused
    expect(report, report).toMatch(/setsid: \//);
    if (stale !== '') expect(stale, report).toContain('SKIFF_E_INVOCATION_NOT_FOUND');
    expect(borrowed.includes('"ids"'), `a survivor cast in a later run's name: ${report}`).toBe(false);
    expect(report, 'the stray outlived its run').not.toMatch(/^stale:/m);
  }, 60_000);
});
