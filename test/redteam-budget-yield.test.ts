/**
 * A hostile caller against the instance budget's fair shares: a start of another function that waits
 * only a moment (its call given up) must not leave one of a busy function's instances marked to yield
 * for ever, taking no more work while it holds a lease and counts as capacity.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const SLEEPER = `
const INSTANCE = \`\${process.pid}-\${Math.random().toString(36).slice(2)}\`;
export default async (request) => {
  const ms = Number(new URL(request.url).searchParams.get('ms') ?? 0);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { instance: INSTANCE };
};
`;

async function fn(dir: string, name: string, scaling: Record<string, number>): Promise<string> {
  const at = path.join(dir, name);
  await mkdir(at);
  await writeFile(path.join(at, 'index.mjs'), SLEEPER);
  await writeFile(path.join(at, 'skiff.json'), JSON.stringify({ runtime: 'node', scaling }));
  return at;
}

describe('fair shares against a start that gives up', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-rt-budget-'));
    platform = await startPlatform({ config: { executor: { budget: { instances: 2 } } } });
    const other = await platform.deploy('other', await fn(dir, 'other', { maxQueueWaitMs: 400 }));
    expect(other.status).toBe(201);
    const busy = await platform.deploy(
      'busy',
      await fn(dir, 'busy', { minInstances: 2, maxInstances: 2, concurrency: 2 }),
    );
    expect(busy.status).toBe(201);
    // both instances of busy up (the budget's two)
    const deadline = Date.now() + 10_000;
    for (;;) {
      const seen = new Set<string>();
      const answers = await Promise.all(
        [1, 2, 3, 4].map(
          async () => (await (await platform.call('/busy?ms=300')).json()) as { instance: string },
        ),
      );
      for (const a of answers) seen.add(a.instance);
      if (seen.size === 2 || Date.now() > deadline) break;
    }
  }, 60_000);

  afterAll(async () => {
    await platform.stop();
    await removeDir(platform.dataDir);
    await removeDir(dir);
  });

  it('keeps every instance of the busy function taking work once the waiting start is gone', async () => {
    // (calls go to the least-loaded instance) X: a long and a short call; Y: a long and a short one; one more queued
    const calls = [
      platform.call('/busy?ms=2500'),
      platform.call('/busy?ms=2500'),
      platform.call('/busy?ms=300'),
      platform.call('/busy?ms=900'),
    ];
    await new Promise((r) => setTimeout(r, 50));
    calls.push(platform.call('/busy?ms=100'));
    await new Promise((r) => setTimeout(r, 50));
    // another function's start waits for room, and gives up (its call leaves the queue) at once
    const other = await platform.call('/other');
    expect(other.status).not.toBe(200);
    for (const res of await Promise.all(calls)) expect(res.status).toBe(200);
    // nothing waits for room now: both instances take calls again
    const seen = new Set<string>();
    const started = Date.now();
    const answers = await Promise.all(
      [1, 2, 3, 4].map(
        async () => (await (await platform.call('/busy?ms=800')).json()) as { instance: string },
      ),
    );
    for (const a of answers) seen.add(a.instance);
    expect(seen.size).toBe(2);
    expect(Date.now() - started).toBeLessThan(1500);
  }, 30_000);
});
