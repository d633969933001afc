/**
 * Red team, apply racing events in flight: re-applying a workflow with a changed init-payload makes a
 * new AttachedInstance for the same URL, booted at once, while the old one is stopped in the
 * background (`void instance.stop()`), which first waits for the event it is delivering and then
 * sends `Stop` to the same process. The old instance's Stop lands after the new Boot and Init: the
 * process the new instance believes booted has been stopped, and the next event to it fails (or,
 * with upstream's runtime, the instance ends).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
let guest: HostileGuest;

const apply = (initPayload: string) =>
  platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url, initPayload)),
  });

beforeAll(async () => {
  // every Cast takes 1 s: the old instance is still delivering when the new one boots
  guest = await startHostileGuest({ cast: (_r, done) => setTimeout(() => done(null, {}), 1000) });
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
  expect((await apply('one')).status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: the old instance stops the new one on re-apply', () => {
  it('no Stop reaches the process after the new instance booted it', async () => {
    const res = await platform.call('/w--fn', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'slow',
    });
    expect(res.status).toBe(202);
    await waitFor('the Cast in delivery', () => guest.seen.find((s) => s.method === 'Cast'));
    expect((await apply('two')).status).toBe(200);
    const initTwo = await waitFor('Init two', () =>
      guest.seen.find((s) => s.method === 'Init' && s.request['init_payload'] === 'two'),
    );
    // the old instance's delivery ends within 1 s; give its Stop time to come
    await waitFor('the old Cast answered', () =>
      guest.seen.find((s) => s.method === 'Cast')!.at + 1500 < Date.now() ? true : undefined,
    );
    const order = guest.seen.map((s) => s.method);
    const stopsAfter = guest.seen.filter((s) => s.method === 'Stop' && s.at >= initTwo.at).length;
    expect(stopsAfter, `the guest saw ${order.join(' → ')}`).toBe(0);
  });
});
