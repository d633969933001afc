/**
 * Warm throughput and latency through each front door, at 1 and 32 keep-alive connections: Skiff's
 * runtimes through the HTTP gateway, and the baselines. Systems are interleaved round by round (the
 * order rotates every round), each measured run follows a warm-up, and medians over rounds are kept.
 */
import os from 'node:os';
import { runLoad } from '../load.js';
import { cpuSeconds, loadAverage, machineCpu, machineLoad, processTree, rssBytes } from '../lib/proc.js';
import { median, round } from '../lib/stats.js';
import { makeDataDir, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes, SKIFF_RUNTIMES } from '../runtimes.js';
import { BASELINES, startBaseline, type RunningServer } from '../servers/baselines.js';
import { secondsLeft, type SuiteContext, type SystemInfo } from './types.js';

export const CONNECTIONS = [1, 32] as const;

export interface Run {
  round: number;
  system: string;
  connections: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  /** Server CPU time per request (all its processes), in microseconds. */
  cpuUsPerReq: number;
  /** Skiff only: the split between the platform process and the function instance. */
  gatewayCpuUsPerReq?: number;
  instanceCpuUsPerReq?: number;
  /** The machine during the measured run: 1-minute load average at start, busy and steal share. */
  load1: number;
  busyPct: number;
  stealPct: number;
  /** CPU used by the load generator, and by everything else (neither server nor generator), in
   * percent of all cores: the noise of the machine during the run. */
  generatorPct: number;
  otherPct: number;
}

export interface Summary {
  system: string;
  connections: number;
  rounds: number;
  rps: number | null;
  rpsMin: number | null;
  rpsMax: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  cpuUsPerReq: number | null;
  gatewayCpuUsPerReq: number | null;
  instanceCpuUsPerReq: number | null;
  errors: number;
}

export interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  connections: number;
  /** Medians of the per-round ratios (each round measures both systems minutes apart at most). */
  rps: number | null;
  p50: number | null;
  p99: number | null;
}

export interface ThroughputResult {
  systems: SystemInfo[];
  settings: {
    rounds: number;
    roundsPlanned: number;
    durationS: number;
    initialWarmupS: number;
    warmupS: number;
    threads: number;
  };
  runs: Run[];
  summary: Summary[];
  ratios: Ratio[];
  /** RSS of each server after the measured runs, bytes. */
  rssAfter: Record<string, number>;
  notes: string[];
}

interface Target {
  info: SystemInfo;
  url: string;
  pids: () => number[];
  /** Skiff: the platform's own pid (the gateway), to split its CPU from the instance's. */
  gatewayPid?: number;
}

const RATIOS: [string, string, string][] = [
  ['Skiff node / bare Node', 'skiff-node', 'bare-node'],
  ['Skiff node / workerd', 'skiff-node', 'workerd'],
  ['Skiff python / Python stdlib', 'skiff-python', 'python-stdlib'],
  ['Skiff node / Skiff node without sandbox', 'skiff-node', 'skiff-node-nosandbox'],
];

async function measure(ctx: SuiteContext, target: Target, connections: number, durationS: number) {
  const pids = target.pids();
  const cpuOf = (list: number[]) => list.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const load1 = loadAverage()[0] ?? 0;
  const machineBefore = machineCpu();
  const before = cpuOf(pids);
  const gatewayBefore = target.gatewayPid === undefined ? 0 : cpuSeconds(target.gatewayPid);
  const result = await runLoad(ctx.load, target.url, connections, durationS);
  const after = cpuOf(pids);
  const gatewayAfter = target.gatewayPid === undefined ? 0 : cpuSeconds(target.gatewayPid);
  const { busyPct, stealPct, busySeconds } = machineLoad(machineBefore, machineCpu());
  const capacity = Math.max(0.001, result.durationS * os.availableParallelism());
  const pct = (seconds: number) => round((100 * Math.max(0, seconds)) / capacity, 1);
  const machine = {
    busyPct,
    stealPct,
    generatorPct: pct(result.generatorCpuS),
    otherPct: pct(busySeconds - (after - before) - result.generatorCpuS),
  };
  const perReq = (seconds: number) => round((seconds * 1e6) / Math.max(1, result.requests), 1);
  const gateway = gatewayAfter - gatewayBefore;
  return {
    requests: result.requests,
    rps: round(result.rps, 0),
    p50Ms: round(result.p50Ms, 3),
    p90Ms: round(result.p90Ms, 3),
    p99Ms: round(result.p99Ms, 3),
    maxMs: round(result.maxMs, 3),
    errors: result.errors,
    cpuUsPerReq: perReq(after - before),
    ...(target.gatewayPid === undefined
      ? {}
      : { gatewayCpuUsPerReq: perReq(gateway), instanceCpuUsPerReq: perReq(after - before - gateway) }),
    load1,
    ...machine,
  };
}

function summarize(runs: Run[], system: string, connections: number): Summary {
  const mine = runs.filter((r) => r.system === system && r.connections === connections);
  const pick = (f: (r: Run) => number | undefined) => mine.map(f).filter((v): v is number => v !== undefined);
  const med = (f: (r: Run) => number | undefined, digits: number) => {
    const m = median(pick(f));
    return m === null ? null : round(m, digits);
  };
  const rps = pick((r) => r.rps);
  return {
    system,
    connections,
    rounds: mine.length,
    rps: med((r) => r.rps, 0),
    rpsMin: rps.length === 0 ? null : Math.min(...rps),
    rpsMax: rps.length === 0 ? null : Math.max(...rps),
    p50Ms: med((r) => r.p50Ms, 3),
    p99Ms: med((r) => r.p99Ms, 3),
    cpuUsPerReq: med((r) => r.cpuUsPerReq, 1),
    gatewayCpuUsPerReq: med((r) => r.gatewayCpuUsPerReq, 1),
    instanceCpuUsPerReq: med((r) => r.instanceCpuUsPerReq, 1),
    errors: mine.reduce((sum, r) => sum + r.errors, 0),
  };
}

function ratios(runs: Run[]): Ratio[] {
  const out: Ratio[] = [];
  for (const [name, numerator, denominator] of RATIOS) {
    for (const connections of CONNECTIONS) {
      const perRound = (f: (r: Run) => number) => {
        const values: number[] = [];
        for (const a of runs.filter((r) => r.system === numerator && r.connections === connections)) {
          const b = runs.find(
            (r) => r.system === denominator && r.connections === connections && r.round === a.round,
          );
          if (b !== undefined && f(b) > 0) values.push(f(a) / f(b));
        }
        const m = median(values);
        return m === null ? null : round(m, 3);
      };
      const rps = perRound((r) => r.rps);
      if (rps === null) continue;
      out.push({
        name,
        numerator,
        denominator,
        connections,
        rps,
        p50: perRound((r) => r.p50Ms),
        p99: perRound((r) => r.p99Ms),
      });
    }
  }
  return out;
}

export async function throughputSuite(ctx: SuiteContext): Promise<ThroughputResult> {
  // wrk takes whole seconds; quick runs rely on the initial warm-up alone
  const durationS = ctx.quick ? 1 : 4;
  const warmupS = ctx.quick ? 0 : 1;
  const initialWarmupS = ctx.quick ? 2 : 3;
  const roundsPlanned = ctx.quick ? 2 : 4;
  const notes: string[] = [];
  const dataDir = await makeDataDir();
  const platform = await SkiffProcess.start(dataDir);
  // the same platform without the sandbox, for its cost (Node only)
  const plainDir = await makeDataDir();
  const plain = await SkiffProcess.start(plainDir, 30_000, ['--sandbox', 'none']);
  const baselines: RunningServer[] = [];
  try {
    const targets: Target[] = [];
    const systems: SystemInfo[] = [];
    const node = SKIFF_RUNTIMES.filter((r) => r.runtime === 'node').map((r) => ({
      ...r,
      id: 'skiff-node-nosandbox',
      label: 'Skiff node, no sandbox',
    }));
    for (const [server, runtimes] of [
      [platform, SKIFF_RUNTIMES],
      [plain, node],
    ] as const) {
      for (const { runtime, info } of await deployRuntimes(server, runtimes)) {
        systems.push(info);
        if (!info.available) {
          ctx.log(`  ${info.label}: not available (${info.reason ?? ''})`);
          continue;
        }
        targets.push({
          info,
          url: `${server.httpUrl}/${runtime.fn}`,
          pids: () => processTree(server.pid),
          gatewayPid: server.pid,
        });
      }
    }
    for (const baseline of BASELINES) {
      const base = { id: baseline.id, label: baseline.label, kind: 'baseline' as const };
      try {
        const server = await startBaseline(baseline);
        baselines.push(server);
        systems.push({ ...base, available: true });
        targets.push({
          info: { ...base, available: true },
          url: server.url,
          pids: () => processTree(server.pid),
        });
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0] ?? '';
        systems.push({ ...base, available: false, reason });
        ctx.log(`  ${baseline.label}: not available (${reason})`);
      }
    }

    // warm-up: every system once, long enough for JITs and connection pools to settle
    for (const target of targets) {
      await runLoad(ctx.load, target.url, 32, initialWarmupS);
    }

    const runs: Run[] = [];
    const perRoundS = targets.length * CONNECTIONS.length * (durationS + warmupS + 0.3);
    let rounds = 0;
    for (let r = 0; r < roundsPlanned; r++) {
      if (r > 0 && secondsLeft(ctx) < perRoundS) {
        notes.push(`stopped after ${r} of ${roundsPlanned} rounds to stay within the time budget`);
        break;
      }
      const order = targets.map((_, i) => targets[(i + r) % targets.length] as Target);
      const levels = r % 2 === 0 ? [...CONNECTIONS] : [...CONNECTIONS].reverse();
      for (const target of order) {
        for (const connections of levels) {
          if (warmupS > 0) await runLoad(ctx.load, target.url, connections, warmupS);
          const m = await measure(ctx, target, connections, durationS);
          runs.push({ round: r, system: target.info.id, connections, ...m });
          ctx.log(
            `  round ${r + 1} ${target.info.label.padEnd(28)} c=${String(connections).padEnd(2)} ` +
              `${String(m.rps).padStart(6)} req/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms  ` +
              `cpu ${m.cpuUsPerReq} µs/req  (machine ${m.busyPct}% busy, others ${m.otherPct}%)`,
          );
        }
      }
      rounds++;
    }

    // Skiff: the platform process, and the platform with every instance; baselines: all their processes
    const rssAfter: Record<string, number> = {
      'skiff-platform': rssBytes(platform.pid),
      skiff: processTree(platform.pid).reduce((sum, pid) => sum + rssBytes(pid), 0),
    };
    for (const target of targets) {
      if (target.info.kind === 'skiff') continue;
      rssAfter[target.info.id] = target.pids().reduce((sum, pid) => sum + rssBytes(pid), 0);
    }
    const summary = targets.flatMap((t) => CONNECTIONS.map((c) => summarize(runs, t.info.id, c)));
    return {
      systems,
      settings: { rounds, roundsPlanned, durationS, initialWarmupS, warmupS, threads: 1 },
      runs,
      summary,
      ratios: ratios(runs),
      rssAfter,
      notes,
    };
  } finally {
    await Promise.all(baselines.map((b) => b.stop()));
    await platform.stop();
    await plain.stop();
    await removeDataDir(dataDir);
    await removeDataDir(plainDir);
  }
}
