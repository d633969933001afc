/**
 * Retention of the async queue: anyone may queue async calls without a token, so the final records
 * they leave (results and dead letters) must not pile up forever. With short retention times the
 * records go soon after they finish; with a count cap only the newest stay.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

interface View {
  id: string;
  status: string;
}

async function accept(p: TestPlatform, route: string): Promise<string> {
  const res = await p.call(route, { method: 'POST', headers: { 'x-skiff-async': 'true' }, body: 'x' });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const list = async (p: TestPlatform, query: string): Promise<View[]> =>
  ((await (await p.api(`/v1/invocations?limit=1000&${query}`)).json()) as { invocations: View[] })
    .invocations;

describe('retention of async invocation records', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('deletes succeeded records and dead letters after their retention time', async () => {
    const p = await startPlatform({
      config: { async: { retries: 0, retention: { succeededMs: 200, failedMs: 400 } } },
    });
    cleanup.push(() => removeDir(p.dataDir));
    cleanup.push(() => p.stop());
    await p.deployAll({ echo: 'echo-cjs', throws: 'throws' });

    const ok = await accept(p, '/echo');
    const bad = await accept(p, '/throws');
    // each is readable once final, then gone
    for (const [id, status] of [
      [ok, 'succeeded'],
      [bad, 'failed'],
    ] as const) {
      const seen = await waitFor(`${id} to finish`, async () => {
        const res = await p.api(`/v1/invocations/${id}`);
        if (res.status !== 200) return undefined;
        const { invocation } = (await res.json()) as { invocation: View };
        return invocation.status === status ? invocation : undefined;
      });
      expect(seen.status).toBe(status);
    }
    for (const id of [ok, bad]) {
      await waitFor(`${id} to be deleted`, async () =>
        (await p.api(`/v1/invocations/${id}`)).status === 404 ? true : undefined,
      );
    }
    expect(await list(p, '')).toEqual([]);
  }, 60_000);

  it('keeps at most maxRecords final records, the newest', async () => {
    const MAX = 5;
    const p = await startPlatform({
      config: { async: { retries: 0, concurrency: 1, retention: { maxRecords: MAX } } },
    });
    cleanup.push(() => removeDir(p.dataDir));
    cleanup.push(() => p.stop());
    await p.deployAll({ echo: 'echo-cjs', throws: 'throws' });

    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await accept(p, i % 2 === 0 ? '/echo' : '/throws'));
    // the last one queued (one worker: also the last to finish) is final and kept
    const last = ids[ids.length - 1] as string;
    await waitFor('the last invocation to finish', async () => {
      const res = await p.api(`/v1/invocations/${last}`);
      const { invocation } = (await res.json()) as { invocation: View };
      return invocation.status === 'failed' || invocation.status === 'succeeded' ? true : undefined;
    });
    const kept = await waitFor('the cap to hold', async () => {
      const all = await list(p, '');
      return all.length <= MAX ? all : undefined;
    });
    expect(kept.length).toBe(MAX);
    expect(kept.map((v) => v.id)).toContain(last);
    expect(kept.every((v) => ids.includes(v.id))).toBe(true);
  }, 60_000);
});
