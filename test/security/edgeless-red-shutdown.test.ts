/**
 * Red team, hostile GUEST: an instance that never answers a Call holds the platform's shutdown. The
 * EDGELESS node is stopped with the triggers, before anything else and without the grace period:
 * `AttachedInstance.stop()` waits for the event in delivery to end, that is up to the Call's
 * deadline (compat.edgeless.callTimeoutMs, 30 s by default, or the request's own), whatever grace
 * `stop(graceMs)` was given.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform | undefined;
let guest: HostileGuest | undefined;

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: a silent guest and shutdown', () => {
  it('stop(1000) ends within a few seconds while a guest sits on a Call', async () => {
    // never answers a Call
    guest = await startHostileGuest({ call: () => undefined });
    const p = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
    platform = p;
    const res = await p.api('/v1/workflows/w', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(attachWorkflow(guest.url)),
    });
    expect(res.status).toBe(201);
    await waitFor('Init', () => guest?.seen.find((s) => s.method === 'Init'));
    const pending = p.call('/w--fn', { method: 'POST', body: 'hang' }).catch(() => undefined);
    await waitFor('the Call', () => guest?.seen.find((s) => s.method === 'Call'));
    const started = Date.now();
    await p.server.stop(1000);
    const took = Date.now() - started;
    await pending;
    expect(took, `stop(1000) took ${took} ms, held by a guest that never answers`).toBeLessThan(6_000);
  });
});
