import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

/**
 * A Node instance's V8 heap is sized from its memory limit (src/languages/node-heap.ts): a function
 * that keeps too many objects hits that size before the cgroup's limit, and its caller gets the same
 * out-of-memory error as when the OOM killer ends it.
 */
describe('the heap of a Node instance', () => {
  let p: TestPlatform;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    await p.deployAll({ hog: 'heap-hog' });
  });

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('answers 502 SKIFF_E_OUT_OF_MEMORY when the heap is full, and the next call works', async () => {
    const res = await p.call('/hog?mb=400');
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      error: { code: 'SKIFF_E_OUT_OF_MEMORY', message: expect.stringContaining('128 MiB') as unknown },
    });
    expect((await p.call('/hog?mb=1')).status).toBe(200);
  });
});
