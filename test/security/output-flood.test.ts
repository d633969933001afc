/**
 * A function floods its output: hundreds of MiB without a newline on stdout and on stderr, 100 MiB of
 * short lines, a storm of console.log calls. The platform (a `skiff serve` child) must keep answering
 * at once, stay within 50 MiB of its idle memory, and keep the function's logs within 10 MiB.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/pack.js';
import { fixture, makeDataDir, removeDir } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { quietFor, waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/**
 * How far above its idle resident memory the platform may go. On Node.js 22 and later this holds because
 * `skiff serve` caps V8's young generation (bin/skiff.js): with Node.js 24's default the peak was 68-92 MiB.
 */
const RSS_SLACK = 50 * MiB;
/** How long /v1/health may take while the flood runs (a loaded 2-core machine). */
const HEALTH_MS = 1_000;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

describe('output flood', () => {
  let serve: ServeProcess;
  let dataDir: string;
  let pid: number;
  let idle: number;

  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${serve.control}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${serve.token}`, ...(init.headers as Record<string, string>) },
    });

  /** Calls the function and, until it answers, samples the platform's RSS and health latency. */
  async function flood(route: string): Promise<{ status: number; maxRss: number; slowestHealth: number }> {
    let done = false;
    const call = fetch(`${serve.http}/flood${route}`, { signal: AbortSignal.timeout(150_000) })
      .then(async (res) => ({ status: res.status, text: await res.text() }))
      .finally(() => {
        done = true;
      });
    let maxRss = rssOf(pid);
    let slowestHealth = 0;
    for (let i = 0; i < 1_500 && !done; i++) {
      const started = performance.now();
      const health = await fetch(`${serve.control}/v1/health`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      await health.arrayBuffer();
      slowestHealth = Math.max(slowestHealth, performance.now() - started);
      maxRss = Math.max(maxRss, rssOf(pid));
      await quietFor(100, 'the sampling period of health and memory during the flood');
    }
    const { status } = await call;
    maxRss = Math.max(maxRss, rssOf(pid));
    return { status, maxRss, slowestHealth };
  }

  beforeAll(async () => {
    dataDir = await makeDataDir();
    serve = await spawnServe(dataDir);
    pid = serve.child.pid as number;
    const res = await api('/v1/functions/flood', {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: await packDirectory(fixture('flood')),
    });
    expect(res.status).toBe(201);
    // warm: an instance runs and every code path of a call was taken once
    for (let i = 0; i < 3; i++) expect((await fetch(`${serve.http}/flood/ok`)).status).toBe(200);
    await quietFor(1_000, 'the memory settles after the warm-up before the baseline is sampled');
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssOf(pid));
      await quietFor(100, 'the sampling period of the baseline');
    }
    idle = Math.max(...samples);
  }, 60_000);

  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await exited(serve.child);
    await removeDir(dataDir);
  });

  it('cuts a line without a newline at 16 KiB, with a marker (before the floods)', async () => {
    const res = await fetch(`${serve.http}/flood/stderr-nonl/1`);
    expect(res.status).toBe(200);
    const line = await waitFor(
      'the cut stderr line in the log',
      async () => {
        const { logs } = (await (await api('/v1/functions/flood/logs?limit=50')).json()) as {
          logs: { message: string }[];
        };
        return logs.find((l) => l.message.startsWith('eeee'));
      },
      5_000,
    );
    expect(line?.message).toMatch(/^e{16384} … \[line cut: longer than 16 KiB\]$/);
  });

  for (const route of ['/stdout-nonl/200', '/stderr-nonl/200', '/short-lines/100', '/console/300000']) {
    it(`stays responsive and within ${RSS_SLACK / MiB} MiB of idle memory: ${route}`, async () => {
      const { status, maxRss, slowestHealth } = await flood(route);
      expect(status).toBe(200);
      expect(slowestHealth, 'the slowest /v1/health (ms)').toBeLessThan(HEALTH_MS);
      expect((maxRss - idle) / MiB, 'MiB above idle').toBeLessThan(RSS_SLACK / MiB);
    }, 180_000);
  }

  it('logs a cut line with a marker, and keeps the logs within 10 MiB', async () => {
    const res = await api('/v1/functions/flood/logs?limit=1000');
    const { logs } = (await res.json()) as { logs: { message: string }[] };
    expect(logs.length).toBeGreaterThan(0);
    const logDir = path.join(dataDir, 'logs');
    const size = (file: string): number => {
      try {
        return statSync(path.join(logDir, file)).size;
      } catch {
        return 0;
      }
    };
    expect(size('flood.jsonl') + size('flood.jsonl.1')).toBeLessThanOrEqual(10 * MiB);
    const all = readFileSync(path.join(logDir, 'flood.jsonl'), 'utf8');
    expect(all.length).toBeGreaterThan(0);
  });
});
