/**
 * Cold starts, measured by the client:
 * - the first request to a scaled-to-zero function (idle timeout 100 ms, instance stopped), with the
 *   warm pool of pre-started bridges (the default) and without it, per runtime;
 * - the first request to a function after a platform restart, per runtime;
 * - deploy to first response: PUT of a new version until the first 200 from the gateway;
 * - for comparison, spawn to first response of each baseline server (a fresh process).
 * Each from zero: with the sandbox (the default) and, for its cost, without it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../lib/proc.js';
import { round, spread, type Spread } from '../lib/stats.js';
import { HELLO, makeDataDir, pack, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes } from '../runtimes.js';
import { BASELINES, startBaseline } from '../servers/baselines.js';
import { secondsLeft, type SuiteContext, type SystemInfo } from './types.js';

export interface ColdStartResult {
  systems: SystemInfo[];
  /** Per runtime: client latency of the first call to a scaled-to-zero function, ms, with the warm pool. */
  firstRequestScaledToZero?: Record<string, Spread & { samples: number[] }>;
  /** The same with the warm pool and without the sandbox (`sandbox.mode` none). */
  firstRequestScaledToZeroNoSandbox?: Record<string, Spread & { samples: number[] }>;
  /** The same with `executor.warmPool` off: every cold start spawns a process. */
  firstRequestScaledToZeroNoWarmPool?: Record<string, Spread & { samples: number[] }>;
  /** Per runtime: client latency of the first call after a platform restart, ms. */
  firstRequestAfterRestart: Record<string, Spread & { samples: number[] }>;
  /** Spawn of `skiff serve` until its ports listen, ms (measured on the same restarts). */
  platformStart: Spread;
  /** Per runtime: PUT of a new version until the first 200 answer, ms (and the PUT alone). */
  deployToFirstResponse: Record<string, Spread & { deployMs: Spread; samples: number[] }>;
  /** Per baseline: spawn of a fresh server process until its first 200 answer, ms. */
  baselineSpawnToFirstResponse: Record<string, Spread & { samples: number[] }>;
  notes: string[];
}

export async function coldStartSuite(ctx: SuiteContext): Promise<ColdStartResult> {
  const tries = 20;
  const baselineTries = ctx.quick ? 5 : 10;
  const restartTries = ctx.quick ? 10 : tries;
  const notes: string[] = [];
  const dataDir = await makeDataDir();
  let platform = await SkiffProcess.start(dataDir);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-fn-'));
  try {
    const deployed = await deployRuntimes(platform);
    const systems = deployed.map((d) => d.info);
    const runtimes = deployed.filter((d) => d.info.available).map((d) => d.runtime);

    // deploy → first response: a new version each time (a nonce file changes the content hash)
    const deploy: Record<string, { total: number[]; put: number[] }> = {};
    for (const r of runtimes) {
      deploy[r.id] = { total: [], put: [] };
      cpSync(r.dir, path.join(scratch, r.runtime), { recursive: true });
    }
    for (let i = 0; i < tries && secondsLeft(ctx) > 5; i++) {
      for (const r of i % 2 === 0 ? runtimes : [...runtimes].reverse()) {
        const dir = path.join(scratch, r.runtime);
        writeFileSync(path.join(dir, 'nonce.txt'), `${Date.now()}-${i}\n`);
        const archive = await pack(dir);
        await sleep(50); // let the previous version's drain settle
        const began = performance.now();
        const put = await platform.deploy(r.fn, archive);
        if (put.status >= 300)
          throw new Error(`deploy of ${r.fn} answered ${put.status}: ${put.body.toString()}`);
        const first = await platform.call(r.fn);
        const total = performance.now() - began;
        if (first.status !== 200 || !first.body.toString().includes(HELLO)) {
          throw new Error(`${r.fn} answered ${first.status} after its deploy`);
        }
        deploy[r.id]?.total.push(round(total, 2));
        deploy[r.id]?.put.push(round(put.ms, 2));
      }
    }

    // first request after a platform restart, per runtime; the order of the calls alternates
    const first: Record<string, number[]> = Object.fromEntries(runtimes.map((r) => [r.id, []]));
    const starts: number[] = [];
    for (let i = 0; i < restartTries && secondsLeft(ctx) > 5; i++) {
      await platform.stop();
      platform = await SkiffProcess.start(dataDir);
      starts.push(round(platform.startMs, 2));
      await sleep(300); // the platform is up and idle when the first request arrives
      const order = i % 2 === 0 ? runtimes : [...runtimes].reverse();
      for (const r of order) {
        const answer = await platform.call(r.fn);
        if (answer.status !== 200) throw new Error(`${r.fn} answered ${answer.status} after a restart`);
        first[r.id]?.push(round(answer.ms, 2));
      }
    }
    if (restartTries < tries) notes.push(`quick mode: ${restartTries} restarts instead of ${tries}`);

    // scaled to zero: with the warm pool (the default), then with it turned off in the config file
    const zeroTries = ctx.quick ? 10 : tries;
    const zeroWarm = await scaledToZero(platform, runtimes, zeroTries, ctx);
    await platform.stop();
    const configFile = path.join(dataDir, 'skiff.config.json');
    writeFileSync(configFile, JSON.stringify({ executor: { warmPool: { node: 0, python: 0, binary: 0 } } }));
    platform = await SkiffProcess.start(dataDir);
    const zeroSpawn = await scaledToZero(platform, runtimes, zeroTries, ctx);
    // and with the warm pool but without the sandbox, for the sandbox's cost
    await platform.stop();
    writeFileSync(configFile, JSON.stringify({ sandbox: { mode: 'none' } }));
    platform = await SkiffProcess.start(dataDir);
    const zeroPlain = await scaledToZero(platform, runtimes, zeroTries, ctx);
    rmSync(configFile, { force: true });
    if (zeroTries < tries) notes.push(`quick mode: ${zeroTries} scale-to-zero tries instead of ${tries}`);

    const baseline: Record<string, number[]> = {};
    for (const b of BASELINES) {
      for (let i = 0; i < baselineTries && secondsLeft(ctx) > 3; i++) {
        try {
          const server = await startBaseline(b);
          (baseline[b.id] ??= []).push(round(server.firstResponseMs, 2));
          await server.stop();
        } catch (err) {
          notes.push(`${b.label}: ${(err as Error).message.split('\n')[0] ?? ''}`);
          break;
        }
      }
    }

    const withSamples = (samples: number[]) => ({ ...spread(samples), samples });
    return {
      systems,
      firstRequestAfterRestart: Object.fromEntries(
        Object.entries(first).map(([k, v]) => [k, withSamples(v)]),
      ),
      platformStart: spread(starts),
      firstRequestScaledToZero: Object.fromEntries(
        Object.entries(zeroWarm).map(([k, v]) => [k, withSamples(v)]),
      ),
      firstRequestScaledToZeroNoWarmPool: Object.fromEntries(
        Object.entries(zeroSpawn).map(([k, v]) => [k, withSamples(v)]),
      ),
      firstRequestScaledToZeroNoSandbox: Object.fromEntries(
        Object.entries(zeroPlain).map(([k, v]) => [k, withSamples(v)]),
      ),
      deployToFirstResponse: Object.fromEntries(
        Object.entries(deploy).map(([k, v]) => [k, { ...withSamples(v.total), deployMs: spread(v.put) }]),
      ),
      baselineSpawnToFirstResponse: Object.fromEntries(
        Object.entries(baseline).map(([k, v]) => [k, withSamples(v)]),
      ),
      notes,
    };
  } finally {
    await platform.stop();
    await removeDataDir(dataDir);
    rmSync(scratch, { recursive: true, force: true });
  }
}

type Deployed = Awaited<ReturnType<typeof deployRuntimes>>[number]['runtime'];

/** True once the function has no instance left (its idle timeout stopped it). */
async function scaledDown(platform: SkiffProcess, fn: string, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const answer = await platform.api(`/v1/functions/${fn}`);
    const body = JSON.parse(answer.body.toString()) as { function?: { instances?: unknown[] } };
    if ((body.function?.instances ?? []).length === 0) return true;
    await sleep(10);
  }
  return false;
}

/**
 * The first call to each function once it is scaled to zero: its idle timeout is set to 100 ms, then
 * each try waits until the instance stopped and 300 ms more (the warm pool refills, the machine is
 * quiet) before the call. The order of the runtimes alternates between tries.
 */
async function scaledToZero(
  platform: SkiffProcess,
  runtimes: Deployed[],
  tries: number,
  ctx: SuiteContext,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(runtimes.map((r) => [r.id, []]));
  for (const r of runtimes) {
    const answer = await platform.api(`/v1/functions/${r.fn}/scaling`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ minInstances: 0, idleTimeoutMs: 100 })),
    });
    if (answer.status !== 200) throw new Error(`scaling ${r.fn} answered ${answer.status}`);
  }
  for (let i = 0; i < tries && secondsLeft(ctx) > 5; i++) {
    for (const r of i % 2 === 0 ? runtimes : [...runtimes].reverse()) {
      if (!(await scaledDown(platform, r.fn, 5000))) throw new Error(`${r.fn} did not scale to zero`);
      await sleep(300);
      const answer = await platform.call(r.fn);
      if (answer.status !== 200) throw new Error(`${r.fn} answered ${answer.status} from zero`);
      out[r.id]?.push(round(answer.ms, 2));
    }
  }
  return out;
}
