/**
 * Writes a run's results: the raw JSON in `bench/results/<timestamp>.json`, and (full runs, or with
 * `--docs`) `docs/performance.md` with its SVG charts in `docs/performance/`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo, Versions } from './lib/machine.js';
import { ROOT } from './lib/paths.js';
import { median, round, type Spread } from './lib/stats.js';
import { barChart, type ChartRow } from './report/svg.js';
import { BASELINES } from './servers/baselines.js';
import type { ColdStartResult } from './suites/coldstart.js';
import type { MemoryResult } from './suites/memory.js';
import type { ScaleResult } from './suites/scale.js';
import type { Summary, ThroughputResult } from './suites/throughput.js';
import type { SystemInfo } from './suites/types.js';

export type Outcome<T> =
  { ok: true; seconds: number; result: T } | { ok: false; seconds: number; error: string };

export interface Results {
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineInfo;
  loadAtEnd: number[];
  versions: Versions;
  throughput: Outcome<ThroughputResult>;
  coldStart: Outcome<ColdStartResult>;
  memory: Outcome<MemoryResult>;
  scale: Outcome<ScaleResult>;
}

const COLORS = { a: '#2b6cb0', b: '#90cdf4', skiff: '#2f855a' };
const MiB = 1024 * 1024;
const mib = (bytes: number | null | undefined): string =>
  bytes == null ? 'n/a' : `${round(bytes / MiB, 1)} MiB`;
const gib = (bytes: number): string => `${round(bytes / (1024 * MiB), 1)} GiB`;
const num = (v: number | null | undefined, digits = 0): string =>
  v == null
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number | null | undefined, digits = 2): string => (v == null ? 'n/a' : `${num(v, digits)} ms`);
const times = (v: number | null | undefined): string => (v == null ? 'n/a' : `${num(v, 2)}×`);

export function writeJson(results: Results, stamp: string): string {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

function labelOf(systems: SystemInfo[], id: string): string {
  return systems.find((s) => s.id === id)?.label ?? id;
}

const baselineLabel = (id: string): string => BASELINES.find((b) => b.id === id)?.label ?? id;

function spreadCells(s: Spread | undefined): string {
  return s === undefined || s.n === 0 ? 'n/a | n/a | 0' : `${ms(s.median, 1)} | ${ms(s.p90, 1)} | ${s.n}`;
}

function latencyAxis(summary: Summary[]): number | undefined {
  const at32 = summary.filter((s) => s.connections === 32);
  const others = at32.filter((s) => s.system !== 'skiff-binary').map((s) => s.p99Ms ?? 0);
  const all = at32.map((s) => s.p99Ms ?? 0);
  const top = Math.max(0, ...others);
  return top > 0 && Math.max(...all) > 2 * top ? top * 1.25 : undefined;
}

function charts(r: Results, dir: string): string[] {
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
  return written;
}

function failed(title: string, o: { ok: false; error: string }): string {
  return `## ${title}\n\nNot measured in this run: \`${o.error.replace(/`/g, "'")}\`\n`;
}

export function markdown(r: Results, chartFiles: string[]): string {
  const out: string[] = [];
  const chart = (name: string, alt: string): void => {
    if (chartFiles.includes(name)) out.push(`![${alt}](performance/${name})`, '');
  };
  out.push(
    '# Performance',
    '',
    `<!-- Generated by \`npm run bench\` (bench/run.ts) on ${r.startedAt}; do not edit by hand. Raw data: bench/results/. -->`,
    '',
    `Skiff measured against what users would otherwise pick, in one ${r.mode} run of \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` ` +
      `(${Math.round(r.durationS)} s) on one machine: ${r.machine.cores} cores (${r.machine.cpuModel}), ` +
      `${gib(r.machine.memTotalBytes)} RAM, ${r.machine.os}. Everything was started by the benchmark and stopped after it; ` +
      'the load came from a separate process. The machine is shared and noisy: read the ratios first, the absolute numbers second.',
    '',
  );

  // ---- at a glance
  out.push('## At a glance', '');
  if (r.throughput.ok) {
    const t = r.throughput.result;
    const get = (id: string, c: number) => t.summary.find((s) => s.system === id && s.connections === c);
    const sn = get('skiff-node', 32);
    const ratio = (name: string, c: number) => t.ratios.find((x) => x.name === name && x.connections === c);
    if (sn !== undefined) {
      const bare = ratio('Skiff node / bare Node', 32);
      const wd = ratio('Skiff node / workerd', 32);
      out.push(
        `- **Warm calls, Node, 32 connections:** Skiff serves ${num(sn.rps)} req/s (p50 ${ms(sn.p50Ms)}, p99 ${ms(sn.p99Ms)}): ` +
          `**${times(bare?.rps)} of a bare Node server** and **${times(wd?.rps)} of workerd** in requests per second.`,
      );
    }
    for (const s of t.systems.filter((x) => !x.available))
      out.push(`- ${s.label}: not available in this run (${s.reason ?? 'unknown'}).`);
  }
  if (r.coldStart.ok) {
    const c = r.coldStart.result;
    const zero = Object.entries(c.firstRequestScaledToZero ?? {}).map(
      ([id, s]) => `${labelOf(c.systems, id)} ${ms(s.median, 1)} (p90 ${ms(s.p90, 1)})`,
    );
    const zeroSpawn = Object.entries(c.firstRequestScaledToZeroNoWarmPool ?? {}).map(
      ([id, s]) => `${labelOf(c.systems, id)} ${ms(s.median, 1)}`,
    );
    const zeroPlain = Object.entries(c.firstRequestScaledToZeroNoSandbox ?? {}).map(
      ([id, s]) => `${labelOf(c.systems, id)} ${ms(s.median, 1)}`,
    );
    if (zero.length > 0)
      out.push(
        `- **First call to a scaled-to-zero function** (warm pool of pre-started bridges, the default): ${zero.join('; ')}` +
          (zeroSpawn.length > 0 ? `; without the warm pool (median): ${zeroSpawn.join('; ')}` : '') +
          (zeroPlain.length > 0 ? `; warm pool without the sandbox (median): ${zeroPlain.join('; ')}.` : '.'),
      );
    const parts = Object.entries(c.firstRequestAfterRestart).map(
      ([id, s]) => `${labelOf(c.systems, id)} ${ms(s.median, 1)} (p90 ${ms(s.p90, 1)})`,
    );
    if (parts.length > 0)
      out.push(
        `- **First call after a platform restart** (instance started on demand): ${parts.join('; ')}.`,
      );
    const deploys = Object.entries(c.deployToFirstResponse).map(
      ([id, s]) => `${labelOf(c.systems, id)} ${ms(s.median, 1)}`,
    );
    if (deploys.length > 0) out.push(`- **Deploy to first response** (median): ${deploys.join('; ')}.`);
  }
  if (r.memory.ok) {
    const m = r.memory.result;
    const inst = Object.entries(m.instance).map(([id, v]) => `${labelOf(m.systems, id)} ${mib(v.rss)}`);
    out.push(
      `- **Memory:** the platform idles at ${mib(m.platformIdleRss)} RSS; one idle instance: ${inst.join(', ') || 'n/a'}` +
        (r.scale.ok && r.scale.result.rssWith100 !== null
          ? `; with 100 functions deployed and none running: ${mib(r.scale.result.rssWith100)}.`
          : '.'),
    );
  }
  if (r.scale.ok) {
    const s = r.scale.result;
    out.push(
      `- **Control plane:** ${s.deployed} functions deployed at ${num(s.deploysPerSecond, 1)} deploys/s; listing them takes ${ms(s.listAfterRestartMs.median, 1)}, ` +
        `a restart with all of them ${ms(s.restart.startMs.median, 0)} until the ports listen.`,
    );
  }
  out.push('');
  chart('throughput.svg', 'Requests per second per system at 1 and 32 connections');
  chart('latency.svg', 'p50 and p99 latency per system at 32 connections');

  // ---- warm throughput
  if (r.throughput.ok) {
    const t = r.throughput.result;
    out.push(
      '## Warm invocations',
      '',
      `Hello world (\`Hello, world!\\n\`, 14 bytes) over HTTP/1.1 keep-alive from ${r.versions.loadGenerator} with one thread, ` +
        `${t.settings.durationS} s per measured run; every system was warmed up first (${t.settings.initialWarmupS} s at 32 connections)` +
        (t.settings.warmupS > 0 ? ` and again for ${t.settings.warmupS} s before each measured run` : '') +
        `; ${t.settings.rounds} rounds; ` +
        'the systems take turns within each round and the order rotates between rounds. Medians over rounds; ' +
        'req/s shows the range over rounds. CPU is the server side only (utime + stime from /proc of every server process, ' +
        "Skiff's platform and its instances together), per request; for Skiff it is split into gateway (the platform process) and instance.",
      '',
      '| system | conns | req/s (median) | req/s range | p50 | p99 | CPU/req | Skiff gateway + instance CPU/req | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const s of t.summary) {
      const split =
        s.gatewayCpuUsPerReq === null
          ? ''
          : `${num(s.gatewayCpuUsPerReq, 1)} + ${num(s.instanceCpuUsPerReq, 1)} µs`;
      out.push(
        `| ${labelOf(t.systems, s.system)} | ${s.connections} | ${num(s.rps)} | ${num(s.rpsMin)}–${num(s.rpsMax)} | ` +
          `${ms(s.p50Ms, 3)} | ${ms(s.p99Ms, 3)} | ${num(s.cpuUsPerReq, 1)} µs | ${split} | ${s.errors} |`,
      );
    }
    const missing = t.systems.filter((s) => !s.available);
    if (missing.length > 0) {
      out.push(
        '',
        'Not available in this run (shown as n/a): ' +
          missing.map((s) => `${s.label} (${s.reason ?? ''})`).join('; ') +
          '.',
      );
    }
    out.push(
      '',
      '### Ratios',
      '',
      'Medians of the per-round ratios (both systems measured in the same round). req/s above 1 means Skiff is faster; latency above 1 means Skiff is slower.',
      '',
    );
    out.push('| ratio | conns | req/s | p50 latency | p99 latency |', '| --- | ---: | ---: | ---: | ---: |');
    for (const x of t.ratios) {
      out.push(`| ${x.name} | ${x.connections} | ${times(x.rps)} | ${times(x.p50)} | ${times(x.p99)} |`);
    }
    if (t.ratios.length === 0) out.push('| (no pair measured) | | | | |');
    for (const note of t.notes) out.push('', `Note: ${note}.`);
    out.push('');
  } else out.push(failed('Warm invocations', r.throughput));

  // ---- cold start
  if (r.coldStart.ok) {
    const c = r.coldStart.result;
    out.push(
      '## Cold start',
      '',
      'Every Skiff number is with the sandbox (bubblewrap, cgroups), the default, unless a row says "no sandbox": those ' +
        'come from the same platform restarted with `sandbox.mode` "none", for the cost of the sandbox. Measured ' +
        'client-side, on a fresh connection:',
      '',
      '- **First request to a scaled-to-zero function**: each function gets `idleTimeoutMs` 100 ms (`PATCH …/scaling`); ' +
        'each try waits until its instance has stopped, then 300 ms more, then calls it once. With the warm pool ' +
        '(`executor.warmPool`, the default: one pre-started Node and one Python bridge with no code loaded) a cold start ' +
        'sends the function to a waiting process (load the code + the call); without it (the same platform restarted ' +
        'with the warm pool off) it spawns a process first. Binary functions have no warm process by default.',
      '- **First request after a platform restart**: the platform is restarted, left idle for 300 ms, then each function is ' +
        'called once; a restarted platform starts the instance on the first call, so this is instance spawn + runtime load + the call. ' +
        'The order of the runtimes alternates between restarts.',
      '- **Deploy to first response**: from the start of the upload (`PUT /v1/functions/{name}`, a new version of an existing ' +
        'function) to the first 200 from the gateway; the deploy answers only after the new instance is ready.',
      '- **Spawn to first response** of each baseline: a fresh server process, polled every millisecond until it answers.',
      '',
      '| what | median | p90 | tries |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const [id, s] of Object.entries(c.firstRequestScaledToZero ?? {})) {
      out.push(`| ${labelOf(c.systems, id)}: first request from zero, warm pool | ${spreadCells(s)} |`);
    }
    for (const [id, s] of Object.entries(c.firstRequestScaledToZeroNoWarmPool ?? {})) {
      out.push(`| ${labelOf(c.systems, id)}: first request from zero, no warm pool | ${spreadCells(s)} |`);
    }
    for (const [id, s] of Object.entries(c.firstRequestScaledToZeroNoSandbox ?? {})) {
      out.push(
        `| ${labelOf(c.systems, id)}: first request from zero, warm pool, no sandbox | ${spreadCells(s)} |`,
      );
    }
    for (const [id, s] of Object.entries(c.firstRequestAfterRestart)) {
      out.push(`| ${labelOf(c.systems, id)}: first request after a platform restart | ${spreadCells(s)} |`);
    }
    for (const [id, s] of Object.entries(c.deployToFirstResponse)) {
      out.push(`| ${labelOf(c.systems, id)}: deploy to first response | ${spreadCells(s)} |`);
      out.push(`| ${labelOf(c.systems, id)}: of which the deploy (PUT) | ${spreadCells(s.deployMs)} |`);
    }
    out.push(
      `| \`skiff serve\`: spawn until the ports listen (same restarts) | ${spreadCells(c.platformStart)} |`,
    );
    for (const [id, s] of Object.entries(c.baselineSpawnToFirstResponse)) {
      out.push(`| ${baselineLabel(id)}: spawn to first response | ${spreadCells(s)} |`);
    }
    const missing = c.systems.filter((s) => !s.available);
    if (missing.length > 0) out.push('', `Not available: ${missing.map((s) => s.label).join(', ')}.`);
    for (const note of c.notes) out.push('', `Note: ${note}.`);
    out.push('');
    chart('coldstart.svg', 'Cold paths: median and p90 in ms');
  } else out.push(failed('Cold start', r.coldStart));

  // ---- memory
  if (r.memory.ok) {
    const m = r.memory.result;
    out.push(
      '## Memory',
      '',
      'RSS from `/proc/<pid>/status` (VmRSS), and PSS from `smaps_rollup` (shared pages split between the processes that map them, ' +
        'closer to what each extra instance really costs). Instances are measured idle, after one call.',
      '',
      '| what | RSS | PSS |',
      '| --- | ---: | ---: |',
      `| platform process, idle, no function deployed | ${mib(m.platformIdleRss)} | ${mib(m.platformIdlePss)} |`,
    );
    for (const [id, v] of Object.entries(m.instance)) {
      out.push(
        `| one idle ${labelOf(m.systems, id)} instance (${v.processes} process${v.processes === 1 ? '' : 'es'}) | ${mib(v.rss)} | ${mib(v.pss)} |`,
      );
    }
    out.push(`| platform process with those instances running | ${mib(m.platformWithInstancesRss)} | |`);
    if (r.scale.ok) {
      const s = r.scale.result;
      out.push(
        `| platform process, 100 functions deployed, no instance running (after a restart) | ${mib(s.rssWith100)} | |`,
      );
      if (s.deployed !== 100) {
        out.push(
          `| platform process, ${s.deployed} functions deployed, no instance running (after a restart) | ${mib(s.rssWithAll)} | ${mib(s.pssWithAll)} |`,
        );
      }
    }
    if (r.throughput.ok) {
      for (const [id, bytes] of Object.entries(r.throughput.result.rssAfter)) {
        const what =
          id === 'skiff-platform'
            ? 'Skiff platform process after the load runs'
            : id === 'skiff'
              ? `Skiff platform with its ${r.throughput.result.systems.filter((x) => x.kind === 'skiff' && x.available).length} instances after the load runs`
              : `${baselineLabel(id)}: every process of the server after the load runs`;
        out.push(`| ${what} | ${mib(bytes)} | |`);
      }
    }
    out.push(
      '',
      '"With 100 functions deployed and none running" is read after a restart, which has every function deployed and no instance until a first call.',
      '',
    );
    chart('memory.svg', 'Resident memory in MiB');
  } else out.push(failed('Memory', r.memory));

  // ---- scale
  if (r.scale.ok) {
    const s = r.scale.result;
    out.push(
      '## Control plane at scale',
      '',
      `${s.deployed} small Node functions (the hello world) deployed one after another through the control API. Each deploy ` +
        'extracts, builds, starts the instance and waits until it is ready before it answers. Instances stay up for their ' +
        `idle timeout (5 min by default), so the platform is restarted after every ${s.batch} deploys to shed them; restarts are not counted in the deploy rate.`,
      '',
      '| what | value |',
      '| --- | ---: |',
      `| functions deployed | ${s.deployed} of ${s.planned} |`,
      `| one deploy, median (p90) | ${ms(s.deployMs.median, 1)} (${ms(s.deployMs.p90, 1)}) |`,
      `| deploys per second, one at a time | ${num(s.deploysPerSecond, 1)} |`,
      `| list all (\`GET /v1/functions\`, ${num(s.listBytes / 1024, 0)} KiB), median, ${s.batch} instances running | ${ms(s.listMs.median, 1)} |`,
      `| list all after a restart, median | ${ms(s.listAfterRestartMs.median, 1)} |`,
      `| stop with ${s.batch} instances running (SIGTERM to exit) | ${ms(s.stopWithInstancesMs, 0)} |`,
      `| restart with all functions: stop, median | ${ms(s.restart.stopMs.median, 0)} |`,
      `| restart with all functions: spawn until the ports listen, median | ${ms(s.restart.startMs.median, 0)} |`,
      `| restart with all functions: spawn until the first list answer, median | ${ms(s.restart.startToListMs.median, 0)} |`,
    );
    for (const note of s.notes) out.push('', `Note: ${note}.`);
    out.push('');
  } else out.push(failed('Control plane at scale', r.scale));

  // ---- machine
  const loads = r.throughput.ok ? r.throughput.result.runs : [];
  const busy = loads.map((x) => x.busyPct);
  const steal = loads.map((x) => x.stealPct);
  const others = loads.map((x) => x.otherPct);
  out.push(
    '## Machine, versions and load',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${r.machine.cpuModel}, ${r.machine.cores} cores |`,
    `| memory | ${gib(r.machine.memTotalBytes)} |`,
    `| OS, kernel | ${r.machine.os}, ${r.machine.kernel} |`,
    `| Skiff | ${r.versions.skiff} |`,
    `| Node | ${r.versions.node} |`,
    ...Object.entries(r.versions.baselines).map(([id, v]) => `| ${id} | ${v} |`),
    `| load generator | ${r.versions.loadGenerator} |`,
    `| load average (1, 5, 15 min) at start / end | ${r.machine.loadAtStart.join(', ')} / ${r.loadAtEnd.join(', ')} |`,
    busy.length === 0
      ? '| machine CPU busy during measured runs | n/a |'
      : `| machine CPU busy during measured runs (all cores, server + load generator + others) | ${Math.min(...busy)}–${Math.max(...busy)} % (steal ${Math.min(...steal)}–${Math.max(...steal)} %) |`,
    others.length === 0
      ? '| CPU of other processes during measured runs | n/a |'
      : `| CPU of other processes (neither server nor load generator) during measured runs, of all cores | median ${round(median(others) ?? 0, 1)} %, max ${Math.max(...others)} % |`,
    `| run | ${r.mode}, started ${r.startedAt}, ${Math.round(r.durationS)} s |`,
    '',
    'Every process was started with a controlled environment (`PATH`, `HOME`, `LANG` only: no `NODE_EXTRA_CA_CERTS`, no `NODE_OPTIONS`), ' +
      'Python as `/usr/bin/python3 -s -E`. Per-run numbers, including the load during each run, are in the JSON file of the run in `bench/results/`.',
    '',
    'Anchors measured earlier on the same kind of machine (wrk, 32 connections): bare Node http ≈ 39k req/s, p50 0.79 ms; ' +
      'a Node → Node undici keep-alive proxy hop ≈ 11k req/s; workerd ≈ 14k req/s; Python stdlib ≈ 10k req/s; ' +
      "a framed multiplexed hop over a Unix socket kept ≈ 40k req/s in a prototype, the bar for Skiff's gateway.",
    '',
  );
  return out.join('\n');
}

/** Writes docs/performance.md and its charts; formats the markdown with Prettier when it is installed. */
export async function writeDocs(results: Results): Promise<string> {
  const docs = path.join(ROOT, 'docs');
  const chartDir = path.join(docs, 'performance');
  mkdirSync(chartDir, { recursive: true });
  const files = charts(results, chartDir);
  const file = path.join(docs, 'performance.md');
  let text = markdown(results, files);
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    text = await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    // unformatted is still correct markdown
  }
  writeFileSync(file, text);
  return file;
}
