/**
 * Composition: what one `ctx.call` round trip and one `ctx.cast` cost, next to a direct HTTP call of
 * the same hello function through the gateway and to a bare Node server, one request at a time.
 *
 * `ctx.call` and `ctx.cast` are timed inside a function (bench/functions/composer): each sample is one
 * awaited call (the callee answered) or one awaited cast (the invocation is on disk, fsynced). The HTTP
 * samples are timed by the bench process over one keep-alive connection.
 */
import { Agent, request } from 'node:http';
import path from 'node:path';
import { BENCH } from '../lib/paths.js';
import { spread, type Spread } from '../lib/stats.js';
import { makeDataDir, pack, removeDataDir, SkiffProcess } from '../platform.js';
import { BASELINES, startBaseline } from '../servers/baselines.js';
import type { SuiteContext } from './types.js';

export interface CompositionResult {
  /** Samples per measurement (after warm-up). */
  n: number;
  /** One awaited ctx.call of the hello function, inside a function, ms. */
  call: Spread;
  /** One awaited ctx.cast (durably queued), inside a function, ms; null when not measured. */
  cast: Spread | null;
  castNote: string | null;
  /** One GET of the hello function through Skiff's HTTP gateway, keep-alive, ms. */
  gateway: Spread;
  /** One GET of a bare Node http server, keep-alive, ms. */
  bareNode: Spread | null;
}

/** Sequential GETs over one keep-alive connection; the latency of each, ms. */
async function sequential(url: string, n: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const began = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { agent, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`${url}: ${res.statusCode}`)),
          );
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
        req.on('error', reject);
        req.end();
      });
      samples.push(performance.now() - began);
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

async function insideSamples(platform: SkiffProcess, kind: 'call' | 'cast', n: number): Promise<number[]> {
  const answer = await platform.call(`composer/${kind}?n=${n}&to=hello`);
  const body = JSON.parse(answer.body.toString()) as { samplesMs?: number[]; error?: unknown };
  if (answer.status !== 200 || body.samplesMs === undefined) {
    throw new Error(`composer /${kind} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
  }
  return body.samplesMs;
}

export async function compositionSuite(ctx: SuiteContext): Promise<CompositionResult> {
  const n = ctx.quick ? 100 : 500;
  const dataDir = await makeDataDir();
  const platform = await SkiffProcess.start(dataDir);
  const bare = BASELINES.find((b) => b.id === 'bare-node');
  const server = bare === undefined ? undefined : await startBaseline(bare);
  try {
    for (const [name, dir] of [
      ['hello', 'node'],
      ['composer', 'composer'],
    ] as const) {
      const answer = await platform.deploy(name, await pack(path.join(BENCH, 'functions', dir)));
      if (answer.status !== 200 && answer.status !== 201) {
        throw new Error(`deploy ${name}: ${answer.status} ${answer.body.toString().slice(0, 300)}`);
      }
    }
    // warm up every path once, then measure
    await insideSamples(platform, 'call', 50);
    await sequential(`${platform.httpUrl}/hello`, 50);
    const call = spread(await insideSamples(platform, 'call', n), 3);
    ctx.log(`   ctx.call median ${call.median} ms`);
    const gateway = spread(await sequential(`${platform.httpUrl}/hello`, n), 3);
    ctx.log(`   gateway GET median ${gateway.median} ms`);
    let bareNode: Spread | null = null;
    if (server !== undefined) {
      await sequential(server.url, 50);
      bareNode = spread(await sequential(server.url, n), 3);
      ctx.log(`   bare Node GET median ${bareNode.median} ms`);
    }
    let cast: Spread | null = null;
    let castNote: string | null = null;
    try {
      await insideSamples(platform, 'cast', 20);
      cast = spread(await insideSamples(platform, 'cast', n), 3);
      ctx.log(`   ctx.cast median ${cast.median} ms`);
    } catch (err) {
      castNote = err instanceof Error ? err.message : String(err);
      ctx.log(`   ctx.cast not measured: ${castNote}`);
    }
    return { n, call, cast, castNote, gateway, bareNode };
  } finally {
    await server?.stop();
    await platform.stop();
    await removeDataDir(dataDir);
  }
}
