/**
 * Red team: a cast to a workflow alias writes one queue row per target, each accepted on its own. When
 * a later target's share of the queue is full, the cast is refused (SKIFF_E_QUEUE_FULL, so the caster
 * thinks nothing was queued and may retry) but the rows of the targets before it stay queued and run:
 * "a refused cast queues nothing" does not hold, and a caster that retries duplicates them. Asserted:
 * a refused fan-out cast leaves no row for any of its targets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
const KiB = 1024;

interface Row {
  id: string;
  function: string;
}

beforeAll(async () => {
  p = await startPlatform({
    config: { async: { maxQueuedBytes: 4 * 1024 * KiB, maxQueuedBytesPerFunction: 64 * KiB } },
  });
  await p.deployAll({ caster: 'cast-node', first: 'cast-sink', second: 'cast-sink' });
  const applied = await p.api('/v1/workflows/fan', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ functions: { caster: { out: ['first', 'second'] } } }),
  });
  expect(applied.status).toBe(201);
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

async function rowsOf(fn: string): Promise<Row[]> {
  const res = await p.api(`/v1/invocations?function=${fn}&limit=10000`);
  return ((await res.json()) as { invocations: Row[] }).invocations;
}

describe('a fan-out cast refused half-way', () => {
  it('queues nothing for the targets before the full one', async () => {
    // fill the share of `second` with casts delayed an hour (16 KiB each, until QUEUE_FULL)
    const big = 'y'.repeat(16 * KiB);
    let code: string | undefined;
    for (let i = 0; i < 10 && code === undefined; i++) {
      const res = await p.call('/caster/delayed?ms=3600000&to=second', { method: 'POST', body: big });
      const out = (await res.json()) as { code?: string };
      code = out.code;
    }
    expect(code).toBe('SKIFF_E_QUEUE_FULL');
    const before = (await rowsOf('first')).length;
    expect(before).toBe(0);
    // the alias goes to first (room) and second (full): the cast is refused ...
    const res = await p.call('/caster/cast?to=out', { method: 'POST', body: big });
    const out = (await res.json()) as { code?: string };
    expect(out.code).toBe('SKIFF_E_QUEUE_FULL');
    // ... so nothing may have been queued for `first`
    expect((await rowsOf('first')).length, 'rows queued for first by the refused cast').toBe(0);
  }, 60_000);
});
