import { readdirSync, readlinkSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { functionStatus, hasCallInFlight } from './helpers/function-status.js';
import { waitUntil } from './helpers/wait.js';

/** Pids of processes whose working folder is inside `dir`: instances of a platform using it. */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

describe('redeploys under traffic', () => {
  let p: TestPlatform;
  let work: string;

  beforeAll(async () => {
    p = await startPlatform();
    work = await makeDataDir();
    await cp(fixture('sleepy'), work, { recursive: true });
    await writeFile(path.join(work, 'skiff.json'), JSON.stringify({ scaling: { maxInstances: 4 } }));
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(work);
  });

  it('fails no request across 20 redeploys, and the old versions stop', async () => {
    expect((await p.deploy('rolling', work)).status).toBe(201);
    let done = false;
    const failures: string[] = [];
    const versions = new Set<number>();
    let answered = 0;
    const deadline = Date.now() + 60_000;
    const loop = async () => {
      // bounded: stops after the redeploys, after 60 s, or after 20,000 calls in all
      while (!done && Date.now() < deadline && answered < 20_000) {
        const res = await p.call('/rolling?ms=5');
        const text = await res.text();
        answered++;
        if (res.status !== 200) failures.push(`${res.status} ${text}`);
        else versions.add((JSON.parse(text) as { version: number }).version);
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    for (let n = 2; n <= 21; n++) {
      await writeFile(path.join(work, 'marker.txt'), String(n));
      const res = await p.deploy('rolling', work);
      expect(res.status, await res.text()).toBe(200);
    }
    // traffic goes on after the last switch until the last version answers too
    await waitUntil('version 21 to answer', () => versions.has(21), 5_000).catch(() => undefined);
    done = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    expect(versions.has(21)).toBe(true);
    for (const v of versions) expect(v >= 1 && v <= 21).toBe(true);
    // every old version drains and stops; only version 21 is left running
    let running: { version: number }[] = [];
    await waitUntil(
      'only version 21 to run',
      async () => {
        running = (await functionStatus(p, 'rolling')).instances;
        return running.every((i) => i.version === 21);
      },
      5_000,
    ).catch(() => undefined); // the expectation shows what still runs
    expect(running.map((i) => i.version)).toEqual(running.map(() => 21));
  });
});

describe('graceful stop', () => {
  it('finishes in-flight calls, then stops every instance and warm process', async () => {
    const dataDir = await makeDataDir();
    const p = await startPlatform({ dataDir });
    try {
      await p.deployAll({ draining: 'sleepy' });
      const inFlight = p.call('/draining?ms=700');
      await waitUntil('the call to run', () => hasCallInFlight(p, 'draining'), 5_000);
      expect(processesIn(dataDir).length).toBeGreaterThan(0);
      const stopping = p.stop();
      const res = await inFlight;
      expect(res.status).toBe(200);
      await stopping;
      await expect(p.call('/draining')).rejects.toThrow();
      // nothing of this platform is left in the process table
      await waitUntil(
        'the processes of the data dir to be gone',
        () => processesIn(dataDir).length === 0,
        2_000,
      ).catch(
        () => undefined, // the expectation says which are left
      );
      expect(processesIn(dataDir)).toEqual([]);
    } finally {
      await p.stop();
      await removeDir(dataDir);
    }
  });
});
