/**
 * Red team (instance budget): one function whose minInstances is more than the budget holds must not
 * take every other function's starts with it. Its instances beyond the budget are starts nobody asked
 * for (no call waits on them); they used to wait at the head of the budget's queue, in order of arrival,
 * forever, so every later start of any function (a deploy, a first call) waited behind them until its
 * own bound ran out.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let dir: string;

async function fn(name: string, scaling: object): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d);
  await writeFile(path.join(d, 'index.mjs'), 'export default () => "hi";\n');
  await writeFile(
    path.join(d, 'skiff.json'),
    JSON.stringify({ runtime: 'node', handler: 'index.mjs', scaling, limits: { memoryMb: 64 } }),
  );
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-red-budget-'));
  platform = await startPlatform({
    config: {
      executor: { budget: { instances: 2 }, warmPool: {} },
      functions: { startTimeoutMs: 4000 },
    } as never,
  });
});

afterAll(async () => {
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('instance budget: minInstances beyond the budget', () => {
  it('a greedy function keeps no other function from starting', async () => {
    const greedy = await platform.deploy('greedy', await fn('greedy', { minInstances: 5, maxInstances: 5 }));
    expect(greedy.status).toBeLessThan(300);
    const other = await platform.deploy('other', await fn('other', {}));
    expect(other.status, await other.text()).toBeLessThan(300);
    const res = await platform.call('/other');
    expect(res.status).toBe(200);
  }, 20_000);
});
