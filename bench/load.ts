/**
 * The load generator, always a separate process: `wrk` (installed from Debian when missing and
 * possible), else `autocannon` when it can be resolved. Keep-alive connections, one client thread.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BENCH } from './lib/paths.js';
import { capture, cleanEnv, cpuSeconds, start, tail } from './lib/proc.js';

export interface LoadGenerator {
  kind: 'wrk' | 'autocannon';
  version: string;
  /** wrk: the binary; autocannon: its CLI script, run by this Node. */
  path: string;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connect/read/write errors and timeouts, and answers that were not 2xx/3xx. */
  errors: number;
  /** Of those: answers that were not 2xx/3xx, and socket errors (connect, read, write, timeout). */
  non2xx: number;
  socketErrors: number;
  /** CPU seconds of the generator itself (sampled every 100 ms, so slightly low). */
  generatorCpuS: number;
}

const WRK_SCRIPT = path.join(BENCH, 'wrk-report.lua');

function findWrk(): string | undefined {
  return capture('/bin/sh', ['-c', 'command -v wrk']);
}

/** Finds wrk, installs it with apt-get when running as root, else falls back to autocannon. */
export function ensureLoadGenerator(log: (line: string) => void): LoadGenerator {
  let wrk = findWrk();
  if (wrk === undefined && process.getuid?.() === 0 && capture('/bin/sh', ['-c', 'command -v apt-get'])) {
    log('wrk is missing: installing it with apt-get (Debian package wrk)…');
    const opts = {
      env: cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' }),
      timeout: 240_000,
      stdio: 'ignore' as const,
    };
    if (spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], opts).status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], opts);
      spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], opts);
    }
    wrk = findWrk();
  }
  if (wrk !== undefined) {
    const version = (capture(wrk, ['-v']) ?? spawnSync(wrk, ['-v'], { encoding: 'utf8' }).stdout ?? '')
      .split('\n')[0]
      ?.replace(/ Copyright.*/, '');
    return { kind: 'wrk', version: version ?? 'wrk', path: wrk };
  }
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('autocannon/package.json');
    const { version } = require('autocannon/package.json') as { version: string };
    return {
      kind: 'autocannon',
      version: `autocannon ${version}`,
      path: path.join(path.dirname(pkg), 'autocannon.js'),
    };
  } catch {
    throw new Error(
      'no load generator: install wrk (apt-get install wrk) or autocannon (npm i -D autocannon)',
    );
  }
}

interface WrkJson {
  requests: number;
  durationUs: number;
  errors: Record<string, number>;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
}

interface AutocannonJson {
  requests: { total: number };
  duration: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs the generator for `durationS` seconds against `url` with `connections` keep-alive connections. */
export async function runLoad(
  gen: LoadGenerator,
  url: string,
  connections: number,
  durationS: number,
): Promise<LoadResult> {
  const args =
    gen.kind === 'wrk'
      ? ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '5s', '-s', WRK_SCRIPT, url]
      : [gen.path, '-j', '-c', String(connections), '-d', String(durationS), '-t', '5', url];
  const child = start(gen.kind === 'wrk' ? gen.path : process.execPath, args);
  const output = tail(child, 100_000);
  const killer = setTimeout(() => child.kill('SIGKILL'), (durationS + 20) * 1000);
  let generatorCpuS = 0;
  const sampler = setInterval(() => {
    generatorCpuS = Math.max(generatorCpuS, cpuSeconds(child.pid as number));
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  clearInterval(sampler);
  const text = output();
  if (code !== 0) throw new Error(`${gen.kind} failed (${code}): ${text.slice(-500)}`);
  if (gen.kind === 'wrk') {
    const line = text.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (line === undefined) throw new Error(`wrk printed no summary: ${text.slice(-500)}`);
    const r = JSON.parse(line.slice('WRKJSON '.length)) as WrkJson;
    const seconds = r.durationUs / 1e6;
    return {
      requests: r.requests,
      durationS: seconds,
      rps: r.requests / seconds,
      p50Ms: r.latencyUs.p50 / 1000,
      p90Ms: r.latencyUs.p90 / 1000,
      p99Ms: r.latencyUs.p99 / 1000,
      maxMs: r.latencyUs.max / 1000,
      errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
      non2xx: r.errors['status'] ?? 0,
      socketErrors: Object.values(r.errors).reduce((a, b) => a + b, 0) - (r.errors['status'] ?? 0),
      generatorCpuS,
    };
  }
  const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  const r = JSON.parse(json) as AutocannonJson;
  return {
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors + r.timeouts + r.non2xx,
    non2xx: r.non2xx,
    socketErrors: r.errors + r.timeouts,
    generatorCpuS,
  };
}
