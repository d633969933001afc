/**
 * Warm throughput and latency through each front door, at 1 and 32 keep-alive connections: Skiff's
 * runtimes through the HTTP gateway, and the baselines. Systems are interleaved round by round (the
 * order rotates every round), each measured run follows a warm-up, and medians over rounds are kept.
 */
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../load.js';
import { OomWatch, platformCgroup } from '../lib/cgroup.js';
import { BENCH } from '../lib/paths.js';
import {
  cpuSeconds,
  filesBytes,
  ioCounters,
  loadAverage,
  machineCpu,
  machineLoad,
  processTree,
  rssBytes,
} from '../lib/proc.js';
import { round } from '../lib/stats.js';
import { makeDataDir, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes, SKIFF_RUNTIMES, type SkiffRuntime } from '../runtimes.js';
import { BASELINES, startBaseline, type RunningServer } from '../servers/baselines.js';
import {
  CONNECTIONS,
  ratios,
  summarize,
  type Ratio,
  type Run,
  type RunIo,
  type Summary,
} from './throughput-stats.js';
import { secondsLeft, type SuiteContext, type SystemInfo } from './types.js';

export { CONNECTIONS };
export type { Ratio, Run, Summary };

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
  /**
   * Per Skiff platform (`skiff`, `skiff-nosandbox`): OOM kills counted in its instance cgroups over
   * the whole suite (null: not readable), and instances that ended on their own according to its
   * lines in the functions' logs. Absent in older runs.
   */
  failures?: Record<string, { oomKills: number | null; exitsOom: number; exitsOther: number }>;
  notes: string[];
}

interface Target {
  info: SystemInfo;
  url: string;
  pids: () => number[];
  /** Skiff: the platform's own pid (the gateway), to split its CPU from the instance's. */
  gatewayPid?: number;
  /** Skiff: OOM kills in the platform's instance cgroups, and its function logs folder. */
  oom?: OomWatch;
  logsDir?: string;
  /** The connection counts this system is measured at (default: all of CONNECTIONS). */
  connections?: readonly number[];
}

/** The Node hello that logs a line on every call: measured at 32 connections only. */
const NODE_LOG: SkiffRuntime = {
  id: 'skiff-node-log',
  label: 'Skiff node, logs every call',
  runtime: 'node',
  fn: 'hello-node-log',
  dir: path.join(BENCH, 'functions', 'node-log'),
};

async function measure(ctx: SuiteContext, target: Target, connections: number, durationS: number) {
  const pids = target.pids();
  const cpuOf = (list: number[]) => list.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const load1 = loadAverage()[0] ?? 0;
  const machineBefore = machineCpu();
  const before = cpuOf(pids);
  const gatewayBefore = target.gatewayPid === undefined ? 0 : cpuSeconds(target.gatewayPid);
  const ioBefore = target.gatewayPid === undefined ? undefined : ioCounters(target.gatewayPid);
  const logBefore = target.logsDir === undefined ? 0 : filesBytes(target.logsDir);
  const oomBefore = target.oom?.total();
  const result = await runLoad(ctx.load, target.url, connections, durationS);
  const after = cpuOf(pids);
  const gatewayAfter = target.gatewayPid === undefined ? 0 : cpuSeconds(target.gatewayPid);
  const ioAfter = target.gatewayPid === undefined ? undefined : ioCounters(target.gatewayPid);
  const logAfter = target.logsDir === undefined ? 0 : filesBytes(target.logsDir);
  const oomAfter = target.oom?.total();
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
  const n = Math.max(1, result.requests);
  const io: RunIo | undefined =
    ioBefore === undefined || ioAfter === undefined
      ? undefined
      : {
          writeBytesPerReq: round((ioAfter.writeBytes - ioBefore.writeBytes) / n, 2),
          writeCallsPerReq: round((ioAfter.syscw - ioBefore.syscw) / n, 4),
          writeCharsPerReq: round((ioAfter.wchar - ioBefore.wchar) / n, 1),
          // a rotation shrinks the file: count growth only
          logBytesPerReq: round(Math.max(0, logAfter - logBefore) / n, 2),
        };
  return {
    requests: result.requests,
    rps: round(result.rps, 0),
    p50Ms: round(result.p50Ms, 3),
    p90Ms: round(result.p90Ms, 3),
    p99Ms: round(result.p99Ms, 3),
    maxMs: round(result.maxMs, 3),
    errors: result.errors,
    non2xx: result.non2xx,
    socketErrors: result.socketErrors,
    ...(target.oom === undefined
      ? {}
      : {
          oomKills: oomBefore === null || oomAfter === null ? null : (oomAfter ?? 0) - (oomBefore ?? 0),
        }),
    ...(io === undefined ? {} : { io }),
    cpuUsPerReq: perReq(after - before),
    ...(target.gatewayPid === undefined
      ? {}
      : { gatewayCpuUsPerReq: perReq(gateway), instanceCpuUsPerReq: perReq(after - before - gateway) }),
    load1,
    ...machine,
  };
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
  const watches = {
    skiff: new OomWatch(platformCgroup(platform.pid)),
    'skiff-nosandbox': new OomWatch(platformCgroup(plain.pid)),
  };
  try {
    const targets: Target[] = [];
    const systems: SystemInfo[] = [];
    const node = SKIFF_RUNTIMES.filter((r) => r.runtime === 'node').map((r) => ({
      ...r,
      id: 'skiff-node-nosandbox',
      label: 'Skiff node, no sandbox',
    }));
    for (const [server, runtimes, oom] of [
      [platform, [...SKIFF_RUNTIMES, NODE_LOG] as SkiffRuntime[], watches.skiff],
      [plain, node, watches['skiff-nosandbox']],
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
          oom,
          logsDir: path.join(server.dataDir, 'logs'),
          ...(runtime.id === NODE_LOG.id ? { connections: [32] } : {}),
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
    const runsPerRound = targets.reduce((n, t) => n + (t.connections ?? CONNECTIONS).length, 0);
    const perRoundS = runsPerRound * (durationS + warmupS + 0.3);
    let rounds = 0;
    for (let r = 0; r < roundsPlanned; r++) {
      if (r > 0 && secondsLeft(ctx) < perRoundS) {
        notes.push(`stopped after ${r} of ${roundsPlanned} rounds to stay within the time budget`);
        break;
      }
      const order = targets.map((_, i) => targets[(i + r) % targets.length] as Target);
      const levels = r % 2 === 0 ? [...CONNECTIONS] : [...CONNECTIONS].reverse();
      for (const target of order) {
        for (const connections of levels.filter((c) => (target.connections ?? CONNECTIONS).includes(c))) {
          if (warmupS > 0) await runLoad(ctx.load, target.url, connections, warmupS);
          const m = await measure(ctx, target, connections, durationS);
          runs.push({ round: r, system: target.info.id, connections, ...m });
          ctx.log(
            `  round ${r + 1} ${target.info.label.padEnd(28)} c=${String(connections).padEnd(2)} ` +
              `${String(m.rps).padStart(6)} req/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms  ` +
              `cpu ${m.cpuUsPerReq} µs/req  (machine ${m.busyPct}% busy, others ${m.otherPct}%)` +
              (m.errors > 0 || (m.oomKills ?? 0) > 0 ? `  ERRORS ${m.errors} OOM ${m.oomKills ?? 0}` : ''),
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
    const summary = targets.flatMap((t) =>
      (t.connections ?? CONNECTIONS).map((c) => summarize(runs, t.info.id, c)),
    );
    const failures: ThroughputResult['failures'] = {};
    for (const [id, server] of [
      ['skiff', platform],
      ['skiff-nosandbox', plain],
    ] as const) {
      const exits = server.instanceExits();
      failures[id] = { oomKills: watches[id].total(), exitsOom: exits.oom, exitsOther: exits.other };
    }
    return {
      systems,
      settings: { rounds, roundsPlanned, durationS, initialWarmupS, warmupS, threads: 1 },
      runs,
      summary,
      ratios: ratios(runs),
      rssAfter,
      failures,
      notes,
    };
  } finally {
    watches.skiff.stop();
    watches['skiff-nosandbox'].stop();
    await Promise.all(baselines.map((b) => b.stop()));
    await platform.stop();
    await plain.stop();
    await removeDataDir(dataDir);
    await removeDataDir(plainDir);
  }
}
