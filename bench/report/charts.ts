/** The SVG charts of docs/performance.md: throughput, latency, cold paths and memory. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Summary } from '../suites/throughput.js';
import { baselineLabel, labelOf, MiB, num } from './format.js';
import type { Results } from './results.js';
import { flameChart } from './flame.js';
import { flameInputs } from './sections-extra.js';
import { barChart, type ChartRow } from './svg.js';

const COLORS = { a: '#2b6cb0', b: '#90cdf4', skiff: '#2f855a' };

function latencyAxis(summary: Summary[]): number | undefined {
  const at32 = summary.filter((s) => s.connections === 32);
  const others = at32.filter((s) => s.system !== 'skiff-binary').map((s) => s.p99Ms ?? 0);
  const all = at32.map((s) => s.p99Ms ?? 0);
  const top = Math.max(0, ...others);
  return top > 0 && Math.max(...all) > 2 * top ? top * 1.25 : undefined;
}

/** Writes the charts a run has data for into `dir`; returns the names of the files written. */
export function charts(r: Results, dir: string): string[] {
  const written: string[] = [];
  const write = (name: string, svg: string): void => {
    writeFileSync(path.join(dir, name), svg);
    written.push(name);
  };
  const mode = `${r.mode} run, ${r.startedAt.slice(0, 10)}, ${r.machine.cores} cores`;
  if (r.throughput.ok) {
    const t = r.throughput.result;
    const ids = [...new Set(t.summary.map((s) => s.system))];
    const get = (id: string, c: number) => t.summary.find((s) => s.system === id && s.connections === c);
    const rows = (
      f: (s: Summary | undefined) => number | null,
      g: (s: Summary | undefined) => number | null,
    ) =>
      ids.map((id): ChartRow => ({
        label: labelOf(t.systems, id),
        values: [f(get(id, 32)), g(get(id, 1))],
        highlight: id.startsWith('skiff-'),
      }));
    write(
      'throughput.svg',
      barChart({
        title: 'Warm hello world: requests per second (higher is better)',
        subtitle: `median of ${t.settings.rounds} interleaved rounds, wrk keep-alive; ${mode}`,
        unit: 'req/s',
        series: [
          { name: '32 connections', color: COLORS.a },
          { name: '1 connection', color: COLORS.b },
        ],
        rows: rows(
          (s) => s?.rps ?? null,
          (s) => s?.rps ?? null,
        ),
      }),
    );
    write(
      'latency.svg',
      barChart({
        title: 'Warm hello world at 32 connections: latency (lower is better)',
        subtitle: `p50 and p99 in ms, median of ${t.settings.rounds} rounds; ${mode}`,
        unit: 'ms',
        digits: 2,
        // per-request processes (binary) are far slower: cut their bars so the others stay readable
        max: latencyAxis(t.summary),
        series: [
          { name: 'p50', color: COLORS.a },
          { name: 'p99', color: COLORS.b },
        ],
        rows: ids.map((id) => ({
          label: labelOf(t.systems, id),
          values: [get(id, 32)?.p50Ms ?? null, get(id, 32)?.p99Ms ?? null],
          highlight: id.startsWith('skiff-'),
        })),
      }),
    );
  }
  if (r.coldStart.ok) {
    const c = r.coldStart.result;
    const rows: ChartRow[] = [];
    for (const [id, s] of Object.entries(c.firstRequestScaledToZero ?? {})) {
      rows.push({
        label: `${labelOf(c.systems, id)}: from zero, warm pool`,
        values: [s.median, s.p90],
        highlight: true,
      });
    }
    for (const [id, s] of Object.entries(c.firstRequestScaledToZeroNoSandbox ?? {})) {
      rows.push({
        label: `${labelOf(c.systems, id)}: from zero, no sandbox`,
        values: [s.median, s.p90],
        highlight: true,
      });
    }
    for (const [id, s] of Object.entries(c.firstRequestScaledToZeroNoWarmPool ?? {})) {
      rows.push({
        label: `${labelOf(c.systems, id)}: from zero, no warm pool`,
        values: [s.median, s.p90],
        highlight: true,
      });
    }
    for (const [id, s] of Object.entries(c.firstRequestAfterRestart)) {
      rows.push({
        label: `${labelOf(c.systems, id)}: 1st call after restart`,
        values: [s.median, s.p90],
        highlight: true,
      });
    }
    for (const [id, s] of Object.entries(c.deployToFirstResponse)) {
      rows.push({
        label: `${labelOf(c.systems, id)}: deploy → 1st answer`,
        values: [s.median, s.p90],
        highlight: true,
      });
    }
    for (const [id, s] of Object.entries(c.baselineSpawnToFirstResponse)) {
      rows.push({ label: `${baselineLabel(id)}: spawn → 1st answer`, values: [s.median, s.p90] });
    }
    write(
      'coldstart.svg',
      barChart({
        title: 'Cold paths, client-measured (lower is better)',
        subtitle: `median and p90 in ms; sandboxed unless marked; ${mode}`,
        unit: 'ms',
        digits: 1,
        series: [
          { name: 'median', color: COLORS.a },
          { name: 'p90', color: COLORS.b },
        ],
        rows,
      }),
    );
  }
  const memRows: ChartRow[] = [];
  if (r.memory.ok) {
    const m = r.memory.result;
    memRows.push({
      label: 'platform, idle, no function',
      values: [m.platformIdleRss / MiB],
      highlight: true,
    });
    for (const [id, v] of Object.entries(m.instance)) {
      memRows.push({
        label: `${labelOf(m.systems, id)} instance, idle`,
        values: [v.rss / MiB],
        highlight: true,
      });
    }
  }
  if (r.scale.ok) {
    const s = r.scale.result;
    if (s.rssWith100 !== null)
      memRows.push({
        label: 'platform, 100 fns, 0 instances',
        values: [s.rssWith100 / MiB],
        highlight: true,
      });
    if (s.rssWithAll !== null && s.deployed !== 100) {
      memRows.push({
        label: `platform, ${s.deployed} fns, 0 instances`,
        values: [s.rssWithAll / MiB],
        highlight: true,
      });
    }
  }
  if (r.throughput.ok) {
    for (const [id, bytes] of Object.entries(r.throughput.result.rssAfter)) {
      if (id === 'skiff') continue; // the platform with its instances: in the table only
      const skiff = id === 'skiff-platform';
      memRows.push({
        label: skiff ? 'platform, after the load runs' : `${baselineLabel(id)}, after load`,
        values: [bytes / MiB],
        highlight: skiff,
      });
    }
  }
  if (memRows.length > 0) {
    write(
      'memory.svg',
      barChart({
        title: 'Resident memory (RSS, lower is better)',
        subtitle: `MiB; ${mode}`,
        unit: 'MiB',
        digits: 1,
        series: [{ name: 'RSS', color: COLORS.skiff }],
        rows: memRows,
      }),
    );
  }
  if (r.profile?.ok === true) {
    const p = r.profile.result;
    for (const f of flameInputs(r)) {
      write(
        f.file,
        flameChart({
          title: f.title,
          subtitle: `${p.method === 'perf' ? `perf record -g at ${p.frequencyHz} Hz` : 'node --cpu-prof'}, Node hello at ${p.connections} connections, ${num(p.rps)} req/s while profiled; width = share of samples; ${mode}`,
          folded: f.folded,
          totalUs: f.us,
        }),
      );
    }
  }
  return written;
}
