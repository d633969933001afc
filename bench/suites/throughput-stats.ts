/**
 * The throughput suite's numbers: one measured run, the medians over rounds per system and
 * connection count, and ratios between systems taken round by round (both measured in the same
 * round, minutes apart at most), for each row against its baseline and for the named pairs.
 */
import { median, round } from '../lib/stats.js';

export const CONNECTIONS = [1, 32] as const;

/** Disk and write activity of the platform process during a run, per request. */
export interface RunIo {
  /** Bytes the platform caused to be written to storage (`write_bytes` of /proc/<pid>/io). */
  writeBytesPerReq: number;
  /** Write-like system calls of the platform, sockets included (`syscw`). */
  writeCallsPerReq: number;
  /** Bytes passed to those calls, sockets included (`wchar`). */
  writeCharsPerReq: number;
  /** Growth of the function log files (`<data dir>/logs`). */
  logBytesPerReq: number;
}

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
  /** Of `errors`: answers that were not 2xx/3xx, and socket errors and timeouts. Absent in older runs. */
  non2xx?: number;
  socketErrors?: number;
  /** Skiff: OOM kills in the platform's instance cgroups during the run (null: not readable). */
  oomKills?: number | null;
  /** Skiff: what the platform process wrote during the run. */
  io?: RunIo;
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
  p99MsMin?: number | null;
  p99MsMax?: number | null;
  cpuUsPerReq: number | null;
  gatewayCpuUsPerReq: number | null;
  instanceCpuUsPerReq: number | null;
  errors: number;
  non2xx?: number;
  socketErrors?: number;
  /** Skiff: OOM kills over all rounds (null: the cgroups were not readable). */
  oomKills?: number | null;
  /** The row's baseline (bare Node for Node servers, Python stdlib for Python) and the medians of the
   * per-round ratios to it: req/s above 1 is faster, latency above 1 slower. */
  baseline?: string | null;
  rpsRatio?: number | null;
  p50Ratio?: number | null;
  p99Ratio?: number | null;
  /** Skiff: medians over rounds of what the platform wrote per request. */
  io?: RunIo | null;
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

/** Each row's baseline for its "× baseline" ratio. */
export const BASELINE_OF: Record<string, string> = {
  'skiff-node': 'bare-node',
  'skiff-node-nosandbox': 'bare-node',
  'skiff-node-log': 'bare-node',
  'skiff-binary': 'bare-node',
  'hono-node': 'bare-node',
  workerd: 'bare-node',
  'skiff-python': 'python-stdlib',
};

export const RATIOS: [string, string, string][] = [
  ['Skiff node / bare Node', 'skiff-node', 'bare-node'],
  ['Skiff node / Hono on @hono/node-server', 'skiff-node', 'hono-node'],
  ['Skiff node / workerd', 'skiff-node', 'workerd'],
  ['Skiff python / Python stdlib', 'skiff-python', 'python-stdlib'],
  ['Skiff node / Skiff node without sandbox', 'skiff-node', 'skiff-node-nosandbox'],
  ['Skiff node logging every call / Skiff node', 'skiff-node-log', 'skiff-node'],
  ['Hono on @hono/node-server / bare Node', 'hono-node', 'bare-node'],
];

/** Median over rounds of `f(numerator run) / f(denominator run)`, pairing runs of the same round. */
function perRound(
  runs: Run[],
  numerator: string,
  denominator: string,
  connections: number,
  f: (r: Run) => number,
): number | null {
  const values: number[] = [];
  for (const a of runs.filter((r) => r.system === numerator && r.connections === connections)) {
    const b = runs.find(
      (r) => r.system === denominator && r.connections === connections && r.round === a.round,
    );
    if (b !== undefined && f(b) > 0) values.push(f(a) / f(b));
  }
  const m = median(values);
  return m === null ? null : round(m, 3);
}

export function summarize(runs: Run[], system: string, connections: number): Summary {
  const mine = runs.filter((r) => r.system === system && r.connections === connections);
  const pick = (f: (r: Run) => number | undefined) => mine.map(f).filter((v): v is number => v !== undefined);
  const med = (f: (r: Run) => number | undefined, digits: number) => {
    const m = median(pick(f));
    return m === null ? null : round(m, digits);
  };
  const rps = pick((r) => r.rps);
  const p99 = pick((r) => r.p99Ms);
  const sum = (f: (r: Run) => number | undefined) => pick(f).reduce((a, b) => a + b, 0);
  const oom = mine.map((r) => r.oomKills);
  const baseline = BASELINE_OF[system] ?? null;
  const ratio = (f: (r: Run) => number) =>
    baseline === null ? null : perRound(runs, system, baseline, connections, f);
  const withIo = mine.filter((r) => r.io !== undefined);
  const io = (f: (x: RunIo) => number, digits: number) =>
    round(median(withIo.map((r) => f(r.io as RunIo))) ?? 0, digits);
  return {
    system,
    connections,
    rounds: mine.length,
    rps: med((r) => r.rps, 0),
    rpsMin: rps.length === 0 ? null : Math.min(...rps),
    rpsMax: rps.length === 0 ? null : Math.max(...rps),
    p50Ms: med((r) => r.p50Ms, 3),
    p99Ms: med((r) => r.p99Ms, 3),
    p99MsMin: p99.length === 0 ? null : Math.min(...p99),
    p99MsMax: p99.length === 0 ? null : Math.max(...p99),
    cpuUsPerReq: med((r) => r.cpuUsPerReq, 1),
    gatewayCpuUsPerReq: med((r) => r.gatewayCpuUsPerReq, 1),
    instanceCpuUsPerReq: med((r) => r.instanceCpuUsPerReq, 1),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    socketErrors: sum((r) => r.socketErrors),
    ...(oom.every((v) => v === undefined)
      ? {}
      : {
          oomKills: oom.some((v) => v === null) ? null : oom.reduce<number>((a, b) => a + (b ?? 0), 0),
        }),
    baseline,
    rpsRatio: ratio((r) => r.rps),
    p50Ratio: ratio((r) => r.p50Ms),
    p99Ratio: ratio((r) => r.p99Ms),
    io:
      withIo.length === 0
        ? null
        : {
            writeBytesPerReq: io((x) => x.writeBytesPerReq, 2),
            writeCallsPerReq: io((x) => x.writeCallsPerReq, 4),
            writeCharsPerReq: io((x) => x.writeCharsPerReq, 1),
            logBytesPerReq: io((x) => x.logBytesPerReq, 2),
          },
  };
}

export function ratios(runs: Run[]): Ratio[] {
  const out: Ratio[] = [];
  for (const [name, numerator, denominator] of RATIOS) {
    for (const connections of CONNECTIONS) {
      const rps = perRound(runs, numerator, denominator, connections, (r) => r.rps);
      if (rps === null) continue;
      out.push({
        name,
        numerator,
        denominator,
        connections,
        rps,
        p50: perRound(runs, numerator, denominator, connections, (r) => r.p50Ms),
        p99: perRound(runs, numerator, denominator, connections, (r) => r.p99Ms),
      });
    }
  }
  return out;
}
