/**
 * Red team: the async queue caps the bytes waiting per *target* function (maxQueuedBytesPerFunction, a
 * quarter of the queue by default), so that one caller cannot take the whole queue. Casts turn that cap
 * into a weapon: any function (access.callers is opt-in) can fill another function's share with casts
 * delayed 24 hours, and the victim's own clients are then refused SKIFF_E_QUEUE_FULL for a day.
 * Asserted: after a stranger's casts, a client's async request to the victim is still accepted (a
 * caster's casts should count against the caster's share, or a per-caster share of the target).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
const KiB = 1024;

beforeAll(async () => {
  p = await startPlatform({ config: { async: { maxQueuedBytes: 4 * 1024 * KiB } } });
  await p.deployAll({ stranger: 'cast-node', victim: 'cast-sink' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe('a stranger squatting on a function share of the queue', () => {
  it('does not lock the function’s own async clients out', async () => {
    const big = 'y'.repeat(200 * KiB);
    let accepted = 0;
    let code: string | undefined;
    for (let i = 0; i < 20 && code === undefined; i++) {
      const res = await p.call('/stranger/delayed?ms=86400000&to=victim', { method: 'POST', body: big });
      const out = (await res.json()) as { id?: string; code?: string };
      if (out.id !== undefined) accepted++;
      code = out.code;
    }
    expect(code).toBe('SKIFF_E_QUEUE_FULL'); // the stranger filled victim's share (1 MiB) ...
    // ... and what is left of it with small casts
    code = undefined;
    for (let i = 0; i < 400 && code === undefined; i++) {
      const res = await p.call('/stranger/delayed?ms=86400000&to=victim', { method: 'POST', body: 'y' });
      const out = (await res.json()) as { id?: string; code?: string };
      if (out.id !== undefined) accepted++;
      code = out.code;
    }
    expect(code).toBe('SKIFF_E_QUEUE_FULL');
    // the victim's own client, asynchronously, with a small body
    const client = await p.call('/victim', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'an order',
    });
    const text = await client.text();
    expect(client.status, `after ${accepted} casts from a stranger: ${text}`).toBe(202);
  }, 60_000);
});
