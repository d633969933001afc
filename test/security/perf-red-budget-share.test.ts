/**
 * Red team (instance budget): one function kept busy by a steady stream of calls must not hold the
 * whole budget for ever. Its instances never go idle while calls queue for it, so the budget could
 * never stop one for another function's first start, which waited until its bound ran out. Now a
 * function holding more than its share while another waits gives an instance back as it finishes.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let dir: string;

async function fn(name: string, code: string, scaling: object): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d);
  await writeFile(path.join(d, 'index.mjs'), code);
  await writeFile(
    path.join(d, 'skiff.json'),
    JSON.stringify({ runtime: 'node', handler: 'index.mjs', scaling, limits: { memoryMb: 64 } }),
  );
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-red-share-'));
  platform = await startPlatform({
    config: {
      executor: { budget: { instances: 2 } },
      functions: { startTimeoutMs: 4000 },
    } as never,
  });
});

afterAll(async () => {
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('instance budget: a busy function and a newcomer', () => {
  it('gives the newcomer an instance while the busy one keeps its queue full', async () => {
    const slow =
      'export default async () => { await new Promise((r) => setTimeout(r, 150)); return "busy"; };\n';
    const busyDir = await fn('busy', slow, { maxInstances: 2, concurrency: 1, maxQueue: 50 });
    expect((await platform.deploy('busy', busyDir)).status).toBeLessThan(300);
    const otherDir = await fn('other', 'export default () => "other";\n', { maxInstances: 1 });
    expect((await platform.deploy('other', otherDir)).status).toBeLessThan(300);
    // a steady stream: four callers against two instances, so calls always queue for "busy"
    const until = Date.now() + 9000;
    let busyOk = 0;
    const busyFailed: number[] = [];
    let stop = false;
    const caller = async () => {
      while (!stop && Date.now() < until) {
        const res = await platform.call('/busy');
        await res.text();
        if (res.status === 200) busyOk++;
        else busyFailed.push(res.status);
      }
    };
    const callers = [caller(), caller(), caller(), caller()];
    try {
      // "other" went idle after its deploy; wait until busy holds the budget (both instances)
      const deadline = Date.now() + 5000;
      while (busyOk < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const res = await platform.call('/other');
      const body = await res.text();
      expect(res.status, body).toBe(200);
      expect(body).toContain('other');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      stop = true;
      await Promise.all(callers);
    }
    expect(busyFailed).toEqual([]); // the busy function's queued calls were all served meanwhile
    expect(busyOk).toBeGreaterThan(8);
  }, 30_000);
});
