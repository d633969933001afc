/**
 * Sections of docs/performance.md for the performance issue's items: errors and OOM kills during the
 * rounds, the cost of logging and what the platform writes, density (the deploy burst), and where
 * the CPU of a warm call goes (flame charts of the gateway and the instance).
 */
import { expandStacks, type Category, type Folded } from '../lib/folded.js';
import { labelOf, mib, ms, num, times } from './format.js';
import type { Results } from './results.js';

const pct = (share: number): string => `${num(100 * share, 1)} %`;

/** Errors and OOM kills of the throughput rounds, per Skiff platform. */
export function failuresSection(r: Results): string[] {
  if (!r.throughput.ok) return [];
  const t = r.throughput.result;
  const out = [
    '### Errors and OOM kills',
    '',
    'Errors are counted by wrk per measured run (non-2xx answers, and connect/read/write errors and timeouts). OOM kills are ' +
      "read from the memory cgroups of the platform's instances (cgroup v1 `memory.oom_control`, v2 `memory.events`, polled " +
      "every 250 ms while the rounds run, since an instance takes its cgroup along when it ends) and from the platform's own " +
      "lines in the functions' logs (`instance … exited (out of memory)`).",
    '',
    '| system | errors: non-2xx | errors: socket | OOM kills during its runs |',
    '| --- | ---: | ---: | ---: |',
  ];
  const baselines = t.summary.filter((s) => s.oomKills === undefined);
  for (const s of t.summary.filter((x) => x.oomKills !== undefined)) {
    out.push(
      `| ${labelOf(t.systems, s.system)}, ${s.connections} conn${s.connections === 1 ? '' : 's'} | ${s.non2xx ?? 'n/a'} | ` +
        `${s.socketErrors ?? 'n/a'} | ${s.oomKills === undefined ? '' : s.oomKills === null ? 'not readable' : s.oomKills} |`,
    );
  }
  const sum = (f: (x: (typeof baselines)[number]) => number | undefined) =>
    baselines.reduce((n, x) => n + (f(x) ?? 0), 0);
  if (baselines.length > 0)
    out.push(`| the baselines, all rows | ${sum((x) => x.non2xx)} | ${sum((x) => x.socketErrors)} | |`);
  if (t.failures !== undefined) {
    out.push('');
    for (const [id, f] of Object.entries(t.failures)) {
      out.push(
        `- ${id === 'skiff' ? 'Sandboxed platform' : 'Platform without sandbox'}: ` +
          `${f.oomKills === null ? 'cgroup OOM counters not readable' : `${f.oomKills} OOM kill(s) in its instance cgroups`}; ` +
          `instances that ended on their own per its log lines: ${f.exitsOom} out of memory, ${f.exitsOther} other.`,
      );
    }
  }
  out.push('');
  return out;
}

/** The Node hello with and without a log line per call, and what the platform wrote for each. */
export function loggingSection(r: Results): string[] {
  if (!r.throughput.ok) return [];
  const t = r.throughput.result;
  const rows = (['skiff-node', 'skiff-node-log'] as const)
    .map((id) => t.summary.find((s) => s.system === id && s.connections === 32))
    .filter((s) => s !== undefined);
  if (rows.length === 0 || rows.every((s) => s.io == null)) return [];
  const out = [
    '## Logging and disk writes',
    '',
    'The Node hello at 32 connections, and the same hello logging one line (`console.log`) on every call ' +
      '(`bench/functions/node-log`), in the same rounds. Per call, from `/proc/<platform pid>/io` before and after each ' +
      'measured run (medians over rounds): `write_bytes` (bytes the platform caused to be written to storage), `syscw` ' +
      '(write-like system calls, sockets included: the answers to the load generator count too) and `wchar` (their bytes), ' +
      "and the growth of the functions' log files. The difference in write calls between the two rows is the cost of the log lines. " +
      'A function may log 1 MiB a second (bursts up to 4 MiB; a line counts its message and 128 bytes); lines beyond are dropped and counted in a marker line, so at high rates ' +
      'the log file grows by less than a line per call.',
    '',
    '| function | req/s | p99 | CPU/req | written to storage/call | write calls/call | bytes to write calls/call | log file growth/call |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of rows) {
    const io = s.io;
    out.push(
      `| ${labelOf(t.systems, s.system)} | ${num(s.rps)} | ${ms(s.p99Ms, 2)} | ${num(s.cpuUsPerReq, 1)} µs | ` +
        (io == null
          ? 'n/a | n/a | n/a | n/a |'
          : `${num(io.writeBytesPerReq, 2)} B | ${num(io.writeCallsPerReq, 3)} | ${num(io.writeCharsPerReq, 1)} B | ${num(io.logBytesPerReq, 1)} B |`),
    );
  }
  const ratio = t.ratios.find(
    (x) => x.name === 'Skiff node logging every call / Skiff node' && x.connections === 32,
  );
  if (ratio !== undefined)
    out.push(
      '',
      `Logging every call: ${times(ratio.rps)} the req/s of the same hello without logs (p99 ${times(ratio.p99)}).`,
    );
  out.push('');
  return out;
}

/** Density: the deploy burst, then listing, stopping and restarting with every function. */
export function scaleSection(r: Results): string[] {
  if (!r.scale.ok) return [];
  const s = r.scale.result;
  const d = s.density;
  const out = ['## Density and the control plane at scale', ''];
  if (d === undefined) {
    out.push(
      `${s.deployed} small Node functions deployed one after another; the platform was restarted after every ${s.batch} ` +
        'deploys to shed their instances (restarts not counted in the deploy rate).',
    );
  } else {
    out.push(
      `${s.deployed} small Node functions (the hello world) deployed in a row through the control API with the default ` +
        'settings, one at a time, no restart: each deploy builds, starts and checks an instance before it answers, and the ' +
        'platform keeps or evicts instances as its settings say. Twice a second the bench counted the instances alive ' +
        `(${d.instancesSource === 'cgroup' ? 'instance cgroups, warm-pool processes included' : "the platform's child processes"}) ` +
        `and the memory held by the platform and its instances (${d.memorySource === 'cgroup' ? "the platform's RSS plus the memory charged to its instance cgroups" : 'the RSS of its whole process tree'}). ` +
        `The burst stops at ${num(d.capS)} s or ${mib(d.capMemoryBytes)}, whichever comes first.`,
    );
  }
  out.push(
    '',
    '| what | value |',
    '| --- | ---: |',
    `| functions deployed | ${s.deployed} of ${s.planned} |`,
    `| one deploy, median (p90) | ${ms(s.deployMs.median, 1)} (${ms(s.deployMs.p90, 1)}) |`,
    `| deploys per second${d === undefined ? ', one at a time' : `, in a row (${num(d.wallS, 1)} s)`} | ${num(s.deploysPerSecond, 1)} |`,
  );
  if (d !== undefined) {
    out.push(
      `| most instances alive at once during the burst | ${num(d.peakInstances)} |`,
      `| most memory of the platform and its instances during the burst | ${mib(d.peakMemoryBytes)} |`,
      `| most RSS of the platform process during the burst | ${mib(d.peakPlatformRss)} |`,
      `| platform RSS 1 s after the burst (${num(d.instancesAfterBurst)} instances alive) | ${mib(d.platformRssAfterBurst)} |`,
    );
  }
  out.push(
    `| list all (\`GET /v1/functions\`, ${num(s.listBytes / 1024, 0)} KiB), median, right after the burst | ${ms(s.listMs.median, 1)} |`,
    `| list all after a restart, median | ${ms(s.listAfterRestartMs.median, 1)} |`,
    `| stop right after the burst (SIGTERM to exit) | ${ms(s.stopWithInstancesMs, 0)} |`,
    `| platform RSS with all ${s.deployed} functions at zero (after a restart) | ${mib(s.rssWithAll)} |`,
    `| restart with all functions: stop, median | ${ms(s.restart.stopMs.median, 0)} |`,
    `| restart with all functions: spawn until the ports listen, median | ${ms(s.restart.startMs.median, 0)} |`,
    `| restart with all functions: spawn until the first list answer, median | ${ms(s.restart.startToListMs.median, 0)} |`,
  );
  for (const note of s.notes) out.push('', `Note: ${note}.`);
  out.push('');
  return out;
}

function topTable(top: { frame: string; share: number }[], us: number): string[] {
  const out = ['| frame (own time) | share | µs/request |', '| --- | ---: | ---: |'];
  for (const t of top)
    out.push(
      `| \`${t.frame.replace(/\|/g, '\\|').replace(/`/g, "'")}\` | ${pct(t.share)} | ${num(t.share * us, 1)} |`,
    );
  return out;
}

export const flameFiles = { gateway: 'flame-gateway.svg', instance: 'flame-instance.svg' } as const;

/** Where the CPU of a warm Node call goes, with the flame charts when the run has them. */
export function profileSection(r: Results, chart: (name: string, alt: string) => string[]): string[] {
  if (r.profile === undefined) return [];
  if (!r.profile.ok)
    return ['## Where the CPU goes', '', `Not measured in this run: \`${r.profile.error}\``, ''];
  const p = r.profile.result;
  const out = [
    '## Where the CPU goes',
    '',
    `The warm Node hello at ${p.connections} connections for ${p.durationS} s (${num(p.rps)} req/s while profiled), on a platform ` +
      (p.method === 'perf'
        ? `whose Node and whose instance's Node ran with \`--perf-basic-prof --interpreted-frames-native-stack\`, sampled by ` +
          `\`perf record -g\` at ${p.frequencyHz} Hz (user and kernel stacks, every thread). `
        : 'started with `--cpu-prof` (V8 CPU profile of the gateway only). ') +
      'Widths are the share of samples, labelled in µs of CPU per request (the CPU of each process during the profiled run ' +
      'divided by its requests; sampling adds a little). Thread names are the roots (`node` is the main thread; V8 worker ' +
      'threads run GC and compilation). Hover a frame for its numbers. The charts leave out the frames every main-thread ' +
      "stack starts with (libc's and Node's start-up, the event loop's entry into JavaScript). The kinds of work below are by " +
      "each sample's innermost frame: JavaScript of Skiff or the function, Node's own JavaScript (`node:*`), V8 (builtins, " +
      "runtime, compiler) and other native code (Node's C++, libuv, libc), GC (a GC frame anywhere on the stack), the kernel.",
    '',
  ];
  const cats: Category[] = ['JavaScript', 'Node internals', 'V8 and native', 'GC', 'kernel'];
  const both = [
    ['gateway (platform process)', p.gateway],
    ['instance (Node bridge + function)', p.instance],
  ] as const;
  out.push(`| | ${both.map(([name]) => name).join(' | ')} |`, '| --- | ---: | ---: |');
  out.push(
    `| CPU per request | ${both.map(([, x]) => (x === null ? 'n/a' : `${num(x.cpuUsPerReq, 1)} µs`)).join(' | ')} |`,
  );
  for (const c of cats) {
    out.push(
      `| ${c} | ${both.map(([, x]) => (x === null ? 'n/a' : `${pct(x.categories[c])} (${num(x.categories[c] * x.cpuUsPerReq, 1)} µs)`)).join(' | ')} |`,
    );
  }
  out.push('');
  for (const [name, x] of both) {
    if (x === null) continue;
    const file = name.startsWith('gateway') ? flameFiles.gateway : flameFiles.instance;
    out.push(`### ${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`, '');
    out.push(...chart(file, `Flame chart of the ${name}: CPU per request by stack`));
    out.push(...topTable(x.top, x.cpuUsPerReq), '');
  }
  for (const note of p.notes) out.push(`Note: ${note}.`, '');
  return out;
}

/** The two profiles' folded stacks and totals, for the charts. */
export function flameInputs(r: Results): { file: string; title: string; folded: Folded; us: number }[] {
  if (r.profile?.ok !== true) return [];
  const p = r.profile.result;
  const out: { file: string; title: string; folded: Folded; us: number }[] = [];
  if (p.gateway !== null)
    out.push({
      file: flameFiles.gateway,
      title: 'Gateway (platform process): CPU per warm Node request',
      folded: expandStacks(p.gateway.stacks),
      us: p.gateway.cpuUsPerReq,
    });
  if (p.instance !== null)
    out.push({
      file: flameFiles.instance,
      title: 'Instance (Node bridge + hello): CPU per warm request',
      folded: expandStacks(p.instance.stacks),
      us: p.instance.cpuUsPerReq,
    });
  return out;
}
