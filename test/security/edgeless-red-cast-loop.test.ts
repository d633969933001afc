/**
 * Red team, hostile GUEST: the chain bound (functions.maxChainCasts) only holds while the instance
 * casts from inside the event it handles. A host Cast sent after the event's Cast was answered has no
 * `current` invocation, so host-service makes it a fresh root: its chain starts again at 0. A guest
 * that acknowledges each event at once and re-casts it to `self` a moment later loops forever, past
 * the bound the docs promise ("in Skiff the chain ends at the bound"), and so does a loop through the
 * workflow's other members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const BOUND = 5;
/** The guest gives up after this many re-casts (the test's own bound). */
const GIVE_UP = 30;
let platform: TestPlatform;
let guest: HostileGuest;
let recasts = 0;

beforeAll(async () => {
  guest = await startHostileGuest({
    cast: (req, done) => {
      done(null, {});
      // after the answer: no event in delivery, so the host sees a new root
      if (recasts >= GIVE_UP) return;
      recasts++;
      const id = guest.boot()?.id;
      setTimeout(() => {
        void guest.host('Cast', { originator: id, alias: 'self', msg: req.msg }).catch(() => undefined);
      }, 10);
    },
  });
  platform = await startPlatform({
    config: {
      compat: { edgeless: { enabled: true } },
      functions: { maxChainCasts: BOUND },
      async: { retryBaseMs: 50 },
    } as never,
  });
  const res = await platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url)),
  });
  expect(res.status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: a cast loop outside the event escapes maxChainCasts', () => {
  it('one event re-cast to self after each answer stops at functions.maxChainCasts', async () => {
    const res = await platform.call('/w--fn', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'loop',
    });
    expect(res.status).toBe(202);
    // wait until the loop either stopped at the bound or ran to the guest's own limit
    await waitFor(
      'the loop to end',
      async () => {
        const before = guest.seen.length;
        await new Promise((r) => setTimeout(r, 500));
        return guest.seen.length === before ? true : undefined;
      },
      30_000,
    );
    const casts = guest.seen.filter((s) => s.method === 'Cast').length;
    expect(casts, `${casts} Casts delivered for one event; maxChainCasts is ${BOUND}`).toBeLessThanOrEqual(
      BOUND + 1,
    );
  });
});
