/** The detailed sections of docs/performance.md: one table (and its notes) per suite, then the machine. */
import { median, round } from '../lib/stats.js';
import { baselineLabel, gib, labelOf, mib, ms, num, spreadCells, times } from './format.js';
import type { Spread } from '../lib/stats.js';
import type { Results } from './results.js';
import { failuresSection, loggingSection, profileSection, scaleSection } from './sections-extra.js';

const seconds = (ms: number): string => `${round(ms / 1000, 1)} s`;

function failed(title: string, o: { ok: false; error: string }): string {
  return `## ${title}\n\nNot measured in this run: \`${o.error.replace(/`/g, "'")}\`\n`;
}

/**
 * The sections after "At a glance", as lines of Markdown; `chart` adds a chart's image where the
 * run has one.
 */
export function sections(
  r: Results,
  chart: (name: string, alt: string) => string[],
  previous?: Results,
): string[] {
  const out: string[] = [];
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
        "Skiff's platform and its instances together), per request; for Skiff it is split into gateway (the platform process) and instance. " +
        '"× baseline" is the median of the per-round ratios to the baseline measured in the same round (bare Node for Node servers and the ' +
        'binary runtime, Python stdlib for Python): req/s above 1 is faster, p99 above 1 slower. Errors are non-2xx answers + socket errors ' +
        'and timeouts, summed over the rounds. "before" is the median req/s of the same row in the earlier run named under Targets.',
      '',
      '| system | conns | req/s (median) | req/s range | × baseline | p50 | p99 (range) | p99 × baseline | CPU/req | Skiff gateway + instance CPU/req | errors | req/s before |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    const prev = previous?.throughput.ok === true ? previous.throughput.result.summary : [];
    for (const s of t.summary) {
      const split =
        s.gatewayCpuUsPerReq === null
          ? ''
          : `${num(s.gatewayCpuUsPerReq, 1)} + ${num(s.instanceCpuUsPerReq, 1)} µs`;
      const p99Range =
        s.p99MsMin == null || s.p99MsMax == null ? '' : ` (${num(s.p99MsMin, 2)}–${num(s.p99MsMax, 2)})`;
      const errors =
        s.non2xx === undefined ? `${s.errors}` : `${s.errors} (${s.non2xx} + ${s.socketErrors ?? 0})`;
      const before = prev.find((x) => x.system === s.system && x.connections === s.connections);
      out.push(
        `| ${labelOf(t.systems, s.system)} | ${s.connections} | ${num(s.rps)} | ${num(s.rpsMin)}–${num(s.rpsMax)} | ` +
          `${s.rpsRatio == null ? '' : times(s.rpsRatio)} | ${ms(s.p50Ms, 3)} | ${ms(s.p99Ms, 3)}${p99Range} | ` +
          `${s.p99Ratio == null ? '' : times(s.p99Ratio)} | ${num(s.cpuUsPerReq, 1)} µs | ${split} | ${errors} | ` +
          `${before === undefined ? 'n/a' : num(before.rps)} |`,
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
    out.push('', ...failuresSection(r), ...loggingSection(r));
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
    out.push(...chart('coldstart.svg', 'Cold paths: median and p90 in ms'));
  } else out.push(failed('Cold start', r.coldStart));

  // ---- memory
  if (r.memory.ok) {
    const m = r.memory.result;
    out.push(
      '## Memory',
      '',
      'RSS from `/proc/<pid>/status` (VmRSS), and PSS from `smaps_rollup` (shared pages split between the processes that map them, ' +
        'closer to what each extra instance really costs). ' +
        (m.quietMs === undefined
          ? 'Idle means 1 s after start; instances are measured after one call.'
          : `Idle means quiet for ${seconds(m.quietMs)} (after start, or after an instance's one call): long enough for ` +
            'the platform and its Node instances to give back the young generation V8 grew (this suite sets `memory.reduceAfterIdleMs` and ' +
            "`memory.instanceReduceAfterIdleMs` to 10 s to stay short; their defaults are 60 s, so these are the figures of a platform quiet for over a minute); the figures 1 s after start and right after the deploys (1 s after the last runtime's call) are given too."),
      '',
      '| what | RSS | PSS |',
      '| --- | ---: | ---: |',
    );
    const quiet = m.quietMs === undefined ? '' : `, quiet ${seconds(m.quietMs)}`;
    if (m.platformStartRss !== undefined)
      out.push(
        `| platform process, 1 s after start, no function deployed | ${mib(m.platformStartRss)} | ${mib(m.platformStartPss ?? 0)} |`,
      );
    out.push(
      `| platform process, idle${quiet}, no function deployed | ${mib(m.platformIdleRss)} | ${mib(m.platformIdlePss)} |`,
    );
    for (const [id, v] of Object.entries(m.instance)) {
      const label = `${labelOf(m.systems, id)} instance (${v.processes} process${v.processes === 1 ? '' : 'es'})`;
      if (v.rssAfterCall !== undefined)
        out.push(`| one ${label}, right after the deploys | ${mib(v.rssAfterCall)} | |`);
      out.push(`| one idle ${label}${quiet} | ${mib(v.rss)} | ${mib(v.pss)} |`);
    }
    out.push(`| platform process with those instances running | ${mib(m.platformWithInstancesRss)} | |`);
    if (r.scale.ok) {
      const s = r.scale.result;
      if (s.rssWith100 !== null)
        out.push(
          `| platform process, 100 functions deployed, no instance running (after a restart) | ${mib(s.rssWith100)} | |`,
        );
      if (s.deployed !== 100 || s.rssWith100 === null) {
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
    out.push(...chart('memory.svg', 'Resident memory in MiB'));
  } else out.push(failed('Memory', r.memory));

  // ---- density and scale
  if (r.scale.ok) out.push(...scaleSection(r));
  else out.push(failed('Density and the control plane at scale', r.scale));

  // ---- composition
  if (r.composition?.ok === true) {
    const c = r.composition.result;
    const row = (what: string, s: Spread | null): string =>
      s === null
        ? `| ${what} | n/a | n/a | n/a |`
        : `| ${what} | ${ms(s.median, 3)} | ${ms(s.p90, 3)} | ${s.n} |`;
    out.push(
      '## Calls and casts between functions',
      '',
      `One request at a time, ${c.n} samples each after a warm-up. \`ctx.call\` and \`ctx.cast\` are timed inside a Node ` +
        'function (`bench/functions/composer`): a call is one awaited `ctx.call` of the hello function (its response read), ' +
        'a cast one awaited `ctx.cast` to it (the invocation written to the async queue and fsynced; its run is not waited for). ' +
        'The HTTP rows are GETs of the same hello function through the gateway, and of a bare Node server, from the bench ' +
        'process over one keep-alive connection.',
      '',
      '| what | median | p90 | samples |',
      '| --- | ---: | ---: | ---: |',
      row('`ctx.call` round trip (function → function)', c.call),
      row('`ctx.cast` (durably queued)', c.cast),
      row('direct HTTP GET through the gateway', c.gateway),
      row('direct HTTP GET of a bare Node server', c.bareNode),
    );
    if (c.castNote !== null) out.push('', `Note: ctx.cast not measured: ${c.castNote}.`);
    out.push('');
  } else if (r.composition !== undefined && !r.composition.ok) {
    out.push(failed('Calls and casts between functions', r.composition));
  }

  out.push(...profileSection(r, chart));

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
  return out;
}
