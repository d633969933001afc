/**
 * The targets of the performance issue, each read from a run's results: the measured value, met or
 * not, and the same value from an earlier run (before/after). A value a run did not measure is n/a
 * and neither met nor missed.
 */
import type { Summary } from '../suites/throughput-stats.js';
import { mib, ms, num, times } from './format.js';
import type { Results } from './results.js';

interface Check {
  item: string;
  what: string;
  target: string;
  get(r: Results): number | null;
  show(v: number): string;
  /** Undefined: reported, no pass/fail. */
  ok?(v: number): boolean;
  /** False when the run measured less than the target speaks of (then neither met nor missed). */
  complete?(r: Results): boolean;
}

export interface TargetRow {
  item: string;
  what: string;
  target: string;
  value: number | null;
  measured: string;
  /** null: not measured, or no pass/fail for this row. */
  met: boolean | null;
  before: string;
}

const MiB = 1024 * 1024;
const summary = (r: Results, id: string, c: number): Summary | undefined =>
  r.throughput.ok
    ? r.throughput.result.summary.find((s) => s.system === id && s.connections === c)
    : undefined;
const ratio = (r: Results, name: string, c: number) =>
  r.throughput.ok
    ? r.throughput.result.ratios.find((x) => x.name === name && x.connections === c)
    : undefined;

/** Errors of every measured run (non-2xx and socket errors, all systems). */
function errors(r: Results): number | null {
  if (!r.throughput.ok) return null;
  return r.throughput.result.runs.reduce((sum, run) => sum + run.errors, 0);
}

/** OOM kills during the throughput rounds: the cgroups' counters, or the instances' exit reasons. */
export function oomKills(r: Results): number | null {
  if (!r.throughput.ok || r.throughput.result.failures === undefined) return null;
  let sum = 0;
  let known = false;
  for (const f of Object.values(r.throughput.result.failures)) {
    const kills = Math.max(f.oomKills ?? 0, f.exitsOom);
    if (f.oomKills !== null || f.exitsOom > 0) known = true;
    sum += kills;
  }
  return known ? sum : null;
}

const io = (r: Results, id: string) => summary(r, id, 32)?.io ?? null;

const CHECKS: Check[] = [
  {
    item: '1',
    what: 'warm Node hello, 32 connections: req/s vs bare Node',
    target: '≥ 0.80×',
    get: (r) => ratio(r, 'Skiff node / bare Node', 32)?.rps ?? null,
    show: times,
    ok: (v) => v >= 0.8,
  },
  {
    item: '1',
    what: 'warm Node hello, 32 connections: p99',
    target: '≤ 5 ms',
    get: (r) => summary(r, 'skiff-node', 32)?.p99Ms ?? null,
    show: (v) => ms(v, 2),
    ok: (v) => v <= 5,
  },
  {
    item: '1',
    what: 'warm Node hello, 1 connection: p50 vs bare Node',
    target: '≤ 2.00×',
    get: (r) => ratio(r, 'Skiff node / bare Node', 1)?.p50 ?? null,
    show: times,
    ok: (v) => v <= 2,
  },
  {
    item: '1',
    what: 'errors (non-2xx, socket) in any measured round',
    target: '0',
    get: errors,
    show: (v) => num(v),
    ok: (v) => v === 0,
  },
  {
    item: '1, 4',
    what: 'OOM kills of instances during the rounds',
    target: '0',
    get: oomKills,
    show: (v) => num(v),
    ok: (v) => v === 0,
  },
  {
    item: '2',
    what: 'warm Python hello, 32 connections: req/s vs Python stdlib',
    target: '≥ 1.00×',
    get: (r) => ratio(r, 'Skiff python / Python stdlib', 32)?.rps ?? null,
    show: times,
    ok: (v) => v >= 1,
  },
  {
    item: '2',
    what: 'warm Python hello, 32 connections: p99',
    target: '≤ 5 ms',
    get: (r) => summary(r, 'skiff-python', 32)?.p99Ms ?? null,
    show: (v) => ms(v, 2),
    ok: (v) => v <= 5,
  },
  ...(['node', 'python'] as const).flatMap((rt): Check[] => [
    {
      item: '3',
      what: `first call from zero, ${rt}, warm pool (median)`,
      target: '≤ 5 ms',
      get: (r) =>
        r.coldStart.ok
          ? (r.coldStart.result.firstRequestScaledToZero?.[`skiff-${rt}`]?.median ?? null)
          : null,
      show: (v) => ms(v, 1),
      ok: (v) => v <= 5,
    },
    {
      item: '3',
      what: `first call from zero, ${rt}, no warm pool (median)`,
      target: '≤ 40 ms',
      get: (r) =>
        r.coldStart.ok
          ? (r.coldStart.result.firstRequestScaledToZeroNoWarmPool?.[`skiff-${rt}`]?.median ?? null)
          : null,
      show: (v) => ms(v, 1),
      ok: (v) => v <= 40,
    },
  ]),
  {
    item: '4',
    what: 'one idle Node instance, RSS',
    target: '≤ 30 MiB',
    get: (r) => (r.memory.ok ? (r.memory.result.instance['skiff-node']?.rss ?? null) : null),
    show: mib,
    ok: (v) => v <= 30 * MiB,
  },
  {
    item: '4',
    what: 'platform idle, RSS',
    target: '≤ 80 MiB',
    get: (r) => (r.memory.ok ? r.memory.result.platformIdleRss : null),
    show: mib,
    ok: (v) => v <= 80 * MiB,
  },
  {
    item: '4, 6',
    what: 'platform with the burst’s functions at zero (after a restart), RSS',
    target: '≤ 150 MiB (1,000 functions)',
    get: (r) => (r.scale.ok ? r.scale.result.rssWithAll : null),
    show: mib,
    ok: (v) => v <= 150 * MiB,
    complete: (r) => r.scale.ok && r.scale.result.deployed >= 1000,
  },
  {
    item: '5',
    what: 'binary hello, 32 connections: req/s',
    target: '≥ 800',
    get: (r) => summary(r, 'skiff-binary', 32)?.rps ?? null,
    show: (v) => num(v),
    ok: (v) => v >= 800,
  },
  {
    item: '6',
    what: 'deploys per second, 1,000 in a row, default settings',
    target: '≥ 15/s',
    get: (r) => (r.scale.ok ? r.scale.result.deploysPerSecond : null),
    show: (v) => `${num(v, 1)}/s`,
    ok: (v) => v >= 15,
  },
  {
    item: '6',
    what: 'functions deployed in the burst',
    target: '1,000',
    get: (r) => (r.scale.ok ? r.scale.result.deployed : null),
    show: (v) => num(v),
    ok: (v) => v >= 1000,
  },
  {
    item: '6',
    what: 'most instances alive at once during the burst',
    target: 'within the instance budget',
    get: (r) => (r.scale.ok ? (r.scale.result.density?.peakInstances ?? null) : null),
    show: (v) => num(v),
  },
  {
    item: '6',
    what: 'most memory of the platform and its instances during the burst',
    target: 'within the instance budget',
    get: (r) => (r.scale.ok ? (r.scale.result.density?.peakMemoryBytes ?? null) : null),
    show: mib,
  },
  {
    item: '6',
    what: 'restart with all functions: spawn until listening (median)',
    target: '≤ 1 s',
    get: (r) => (r.scale.ok ? r.scale.result.restart.startMs.median : null),
    show: (v) => ms(v, 0),
    ok: (v) => v <= 1000,
  },
  {
    item: '7',
    what: 'warm Node hello without logs: bytes written to storage per call',
    target: '0 (below 1 B)',
    get: (r) => io(r, 'skiff-node')?.writeBytesPerReq ?? null,
    show: (v) => `${num(v, 2)} B`,
    ok: (v) => v < 1,
  },
  {
    item: '7',
    what: 'function logging every call: extra write calls of the platform per call',
    target: '≤ 1 (one batched write per loop turn at most)',
    get: (r) => {
      const a = io(r, 'skiff-node-log');
      const b = io(r, 'skiff-node');
      return a === null || b === null
        ? null
        : Math.round((a.writeCallsPerReq - b.writeCallsPerReq) * 1000) / 1000;
    },
    show: (v) => num(v, 3),
    ok: (v) => v <= 1,
  },
  {
    item: '7',
    what: 'function logging every call: req/s vs the same hello without logs, 32 connections',
    target: 'reported',
    get: (r) => ratio(r, 'Skiff node logging every call / Skiff node', 32)?.rps ?? null,
    show: times,
  },
];

export function targets(r: Results, previous?: Results): TargetRow[] {
  return CHECKS.map((c) => {
    const value = c.get(r);
    const old = previous === undefined ? null : c.get(previous);
    const complete = c.complete?.(r) ?? true;
    return {
      item: c.item,
      what: c.what,
      target: c.target,
      value,
      measured: value === null ? 'n/a' : `${c.show(value)}${complete ? '' : ' (partial)'}`,
      met: value === null || c.ok === undefined || !complete ? null : c.ok(value),
      before: previous === undefined ? '' : old === null ? 'n/a' : c.show(old),
    };
  });
}

/** The "Targets" section, as lines of Markdown. */
export function targetsSection(r: Results, previous: Results | undefined, previousName: string): string[] {
  const rows = targets(r, previous);
  const met = rows.filter((x) => x.met === true).length;
  const judged = rows.filter((x) => x.met !== null).length;
  const out = [
    '## Targets',
    '',
    `The targets of the performance issue (19), read from this run: ${met} of ${judged} met. ` +
      'Ratios are medians of per-round ratios from this run; "before" is the same value from ' +
      (previous === undefined
        ? 'no earlier run (none given).'
        : `\`${previousName}\` (${previous.mode} run of ${previous.startedAt.slice(0, 10)}).`),
    '',
    `| item | what | target | measured | met |${previous === undefined ? '' : ' before |'}`,
    `| --- | --- | --- | ---: | --- |${previous === undefined ? '' : ' ---: |'}`,
  ];
  for (const x of rows) {
    const met = x.met === null ? '—' : x.met ? 'met' : '**not met**';
    out.push(
      `| ${x.item} | ${x.what} | ${x.target} | ${x.measured} | ${met} |${previous === undefined ? '' : ` ${x.before} |`}`,
    );
  }
  out.push('');
  return out;
}
