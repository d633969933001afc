/**
 * Red team 2, hostile GUEST or client keeping an event in flight: a re-apply that renames a member.
 *
 * An instance started for a process that an old instance is still stopping waits for that Stop
 * (`EdgelessNode.stopInstance`, `after`), but only when the old instance is stopped before the new
 * one is made: a member whose code changed. A member renamed in a re-apply (`y` becomes `z`, same
 * `grpc:<url>`) is stopped after its successor is made, so `z` boots and inits the process at once,
 * while `y` waits for its event in delivery (up to two seconds) and then sends Stop: the process is
 * left stopped behind `z`'s back (its Boot, refused by the initialised process, sent one Stop
 * of its own first), and `z`'s next call fails (502) although nothing crashed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EDGELESS_ON,
  Guest,
  applyWorkflow,
  callOverHttp,
  castOverHttp,
  edgelessWorkflow,
  memberName,
  stopGuests,
} from '../helpers/edgeless-guests.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let guest: Guest | undefined;

beforeAll(async () => {
  platform = await startPlatform({ config: EDGELESS_ON as never });
  guest = await Guest.start();
}, 30_000);

afterAll(async () => {
  await stopGuests([guest]);
  await platform.stop();
  await removeDir(platform.dataDir);
});

describe('red2: renaming an attached member while it handles an event', () => {
  it("does not leave the process stopped behind the new member's boot", async () => {
    const g = guest!;
    await applyWorkflow(platform, 'wf', edgelessWorkflow([{ name: 'y', guest: g }]));
    await g.booted();

    const from = g.mark();
    await castOverHttp(platform, memberName('wf', 'y'), 'slow 1500 busy');
    await g.got('Cast', from);
    // the same process, now as member z
    await applyWorkflow(platform, 'wf', edgelessWorkflow([{ name: 'z', guest: g }]));
    // y's event ends, then y's Stop; the process must be booted and initialised (as z) after that
    // Stop, not before it (else the Stop lands behind z's back)
    const done = await g.next('y’s event to end', (e) => e.event === 'cast-done', from, 10_000);
    const stop = await g.next('y’s Stop', (e) => e.method === 'Stop' && e.at >= done.at, from, 10_000);
    await g.next('z’s Init after y’s Stop', (e) => e.method === 'Init' && e.at >= stop.at, from, 10_000);

    const lifecycle = g
      .all('Stop', from)
      .concat(g.all('Init', from), g.all('Boot', from))
      .sort((a, b) => a.at - b.at)
      .map((e) => e.method);
    const res = await callOverHttp(platform, memberName('wf', 'z'), 'ping');
    const text = await res.text();
    expect(res.status, `the process got ${lifecycle.join(' → ')}; the call answered ${text}`).toBe(200);
  }, 60_000);
});
