/**
 * An idle platform gives back the young generation V8 grew at its start and under load
 * (src/shared/memory-reducer.ts): once quiet for `memory.reduceAfterIdleMs`, one collection that
 * shrinks it, at most once per quiet period, again after new activity; calls keep answering; 0 turns
 * it off. The platform is the real `skiff serve`, its memory read from /proc.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { quietFor, waitUntil } from './helpers/wait.js';

const MiB = 1024 * 1024;
const IDLE_MS = 500;
const REDUCED = 'idle: heap collected and the young generation shrunk';

interface Reduction {
  pauseMs: number;
  newSpaceMiB: [number, number];
}

interface Platform {
  serve: ServeProcess;
  dataDir: string;
  reductions: () => Reduction[];
}

const platforms: Platform[] = [];

afterAll(async () => {
  for (const p of platforms) {
    p.serve.child.kill('SIGTERM');
    await exited(p.serve.child);
    await removeDir(p.dataDir);
  }
});

/** `skiff serve` with `memory.reduceAfterIdleMs` set, logging at debug level (JSON lines on stderr). */
async function start(reduceAfterIdleMs: number): Promise<Platform> {
  const dataDir = await makeDataDir();
  const config = path.join(dataDir, 'test-config.json');
  await writeFile(config, JSON.stringify({ memory: { reduceAfterIdleMs } }));
  const serve = await spawnServe(dataDir, { args: ['--config', config, '--log-level', 'debug'] });
  let log = '';
  serve.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const reductions = () =>
    log
      .split('\n')
      .filter((line) => line.includes(REDUCED))
      .map((line) => JSON.parse(line) as Reduction);
  const platform = { serve, dataDir, reductions };
  platforms.push(platform);
  return platform;
}

function rssAnon(pid: number): number {
  const line = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

async function call(serve: ServeProcess, ms = 0): Promise<number> {
  const res = await fetch(`${serve.http}/sleepy/?ms=${ms}`);
  await res.text();
  return res.status;
}

describe('the platform when idle', () => {
  it('shrinks its heap once quiet, once per quiet period, and keeps answering', async () => {
    const [on, off] = await Promise.all([start(IDLE_MS), start(0)]);
    if (on === undefined || off === undefined) throw new Error('no platform');
    const pid = on.serve.child.pid as number;
    const anonAtStart = rssAnon(pid);

    // after the start: one collection, which gives the young generation back
    await waitUntil('the collection after the start', () => on.reductions().length === 1, 20_000);
    const [first] = on.reductions();
    expect(first?.newSpaceMiB[1], JSON.stringify(first)).toBeLessThan(first?.newSpaceMiB[0] ?? 0);
    // (a quarter of what the new space gave back: the rest of the start may have grown it meanwhile)
    const freed = ((first?.newSpaceMiB[0] ?? 0) - (first?.newSpaceMiB[1] ?? 0)) * MiB;
    expect(rssAnon(pid) / MiB, `RssAnon MiB, ${anonAtStart / MiB} at start`).toBeLessThan(
      (anonAtStart - freed / 4) / MiB,
    );

    // a deploy and calls right after it are served; then quiet again: one more collection
    const deployed = await deployTo(on.serve, 'sleepy', fixture('sleepy'));
    expect(deployed.status, deployed.text).toBe(201);
    const statuses = await Promise.all(Array.from({ length: 3 }, () => call(on.serve)));
    expect(statuses).toEqual([200, 200, 200]);
    let done = on.reductions().length;
    await waitUntil('a collection after the calls', () => on.reductions().length > done, 20_000);
    expect(await call(on.serve)).toBe(200);

    // never while a call is in flight: none during one that lasts several quiet times, one after it
    done = on.reductions().length;
    expect(await call(on.serve, 6 * IDLE_MS)).toBe(200);
    expect(on.reductions()).toHaveLength(done);
    await waitUntil('a collection after the long call', () => on.reductions().length > done, 20_000);

    // a quiet platform collects once per quiet period, not at every check
    done = on.reductions().length;
    await quietFor(4 * IDLE_MS, 'the checks of a platform that stays quiet');
    expect(on.reductions()).toHaveLength(done);

    // with 0, never
    expect(off.reductions()).toHaveLength(0);
    expect(await fetch(`${off.serve.control}/v1/health`).then((r) => r.status)).toBe(200);
  });
});
