/**
 * `npm run bench [-- --quick] [-- --docs | --no-docs] [-- --only throughput,coldstart,memory,scale,composition,profile]`
 * `[-- --no-profile | --profile] [-- --compare bench/results/<timestamp>.json]`
 * `npm run bench -- --from bench/results/<timestamp>.json` re-renders docs/performance.md from a run.
 *
 * Measures Skiff against a bare Node server, Hono on @hono/node-server, workerd and Python's stdlib
 * server in one run, starting and stopping everything itself, and writes bench/results/<timestamp>.json
 * and (full runs) docs/performance.md, with the targets and a before/after column against an
 * earlier run (`--compare`, default: the newest earlier full run). Bounded: about 2 minutes with
 * --quick, at most 11.5 minutes in full (680 s, plus the build). The CPU profile (flame charts) runs in full runs unless
 * --no-profile; in quick runs only with --profile or --only profile.
 */
import { readFileSync } from 'node:fs';
import { ensureLoadGenerator } from './load.js';
import { machineInfo, versions } from './lib/machine.js';
import { killAll, loadAverage } from './lib/proc.js';
import { findPrevious, writeDocs, writeJson } from './report.js';
import type { Outcome, Results } from './report/results.js';
import { coldStartSuite } from './suites/coldstart.js';
import { compositionSuite } from './suites/composition.js';
import { memorySuite } from './suites/memory.js';
import { profileSuite } from './suites/profile.js';
import { targets } from './report/targets.js';
import { scaleSuite } from './suites/scale.js';
import { throughputSuite } from './suites/throughput.js';
import type { SuiteContext } from './suites/types.js';

const SUITES = ['throughput', 'coldstart', 'memory', 'scale', 'composition', 'profile'] as const;
type SuiteName = (typeof SUITES)[number];

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  let docs = !quick;
  if (argv.includes('--docs')) docs = true;
  if (argv.includes('--no-docs')) docs = false;
  const onlyIndex = argv.indexOf('--only');
  const profile = quick ? argv.includes('--profile') : !argv.includes('--no-profile');
  const only =
    onlyIndex >= 0
      ? (argv[onlyIndex + 1] ?? '').split(',').filter((s) => s !== '')
      : SUITES.filter((s) => s !== 'profile' || profile);
  const unknown = only.filter((s) => !(SUITES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`unknown suite(s) ${unknown.join(', ')}; known: ${SUITES.join(', ')}`);
  const compareIndex = argv.indexOf('--compare');
  const compare = compareIndex >= 0 ? argv[compareIndex + 1] : undefined;
  return { quick, docs, only: new Set(only as SuiteName[]), compare };
}

async function main(): Promise<void> {
  const fromIndex = process.argv.indexOf('--from');
  if (fromIndex >= 0) {
    // re-render docs/performance.md from a results file, without measuring anything
    const file = process.argv[fromIndex + 1] ?? '';
    const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
    const compareIndex = process.argv.indexOf('--compare');
    const previous = findPrevious(
      results.startedAt.replace(/[:.]/g, '-'),
      compareIndex >= 0 ? process.argv[compareIndex + 1] : undefined,
    );
    console.log(
      `report: ${await writeDocs(results, previous)} (from ${file}, before: ${previous?.name ?? 'none'})`,
    );
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  const began = Date.now();
  const startedAt = new Date(began).toISOString();
  const budgetS = args.quick ? 120 : 680;
  const log = (line: string): void => console.log(line);
  log(`Skiff bench (${args.quick ? 'quick' : 'full'}, budget ${budgetS} s)`);
  const load = ensureLoadGenerator(log);
  const machine = machineInfo();
  const vers = versions(load);
  log(
    `  ${machine.cores} cores, ${machine.cpuModel}; load ${machine.loadAtStart.join(' ')}; ${load.version}`,
  );

  // each suite may run until its share of the budget (cumulative) is used up
  const shares: Record<SuiteName, number> = {
    throughput: 0.5,
    coldstart: 0.676,
    memory: 0.695,
    scale: 0.94,
    composition: 0.96,
    profile: 0.995,
  };
  const run = async <T>(name: SuiteName, suite: (ctx: SuiteContext) => Promise<T>): Promise<Outcome<T>> => {
    if (!args.only.has(name)) return { ok: false, seconds: 0, error: 'skipped (--only)' };
    const t0 = Date.now();
    const ctx: SuiteContext = {
      quick: args.quick,
      load,
      deadline: began + shares[name] * budgetS * 1000,
      log,
    };
    log(`\n== ${name}`);
    try {
      const result = await suite(ctx);
      const seconds = (Date.now() - t0) / 1000;
      log(`   ${name} done in ${seconds.toFixed(1)} s`);
      return { ok: true, seconds, result };
    } catch (err) {
      const seconds = (Date.now() - t0) / 1000;
      const error = err instanceof Error ? err.message : String(err);
      log(`   ${name} FAILED after ${seconds.toFixed(1)} s: ${error}`);
      return { ok: false, seconds, error };
    }
  };

  const throughput = await run('throughput', throughputSuite);
  const coldStart = await run('coldstart', coldStartSuite);
  const memory = await run('memory', memorySuite);
  const scale = await run('scale', scaleSuite);
  const composition = await run('composition', compositionSuite);
  const profile = await run('profile', profileSuite);

  const results: Results = {
    mode: args.quick ? 'quick' : 'full',
    startedAt,
    finishedAt: new Date().toISOString(),
    durationS: (Date.now() - began) / 1000,
    machine,
    loadAtEnd: loadAverage(),
    versions: vers,
    throughput,
    coldStart,
    memory,
    scale,
    composition,
    profile,
  };
  const stamp = startedAt.replace(/[:.]/g, '-');
  log(`\nraw results: ${writeJson(results, stamp)}`);
  const previous = findPrevious(stamp, args.compare);
  if (args.docs)
    log(`report:      ${await writeDocs(results, previous)} (before: ${previous?.name ?? 'none'})`);
  if (throughput.ok) {
    for (const r of throughput.result.ratios) {
      log(
        `  ${r.name.padEnd(30)} c=${String(r.connections).padEnd(2)} req/s ×${r.rps}  p50 ×${r.p50}  p99 ×${r.p99}`,
      );
    }
  }
  log(`\ntargets (before: ${previous?.name ?? 'none'}):`);
  for (const t of targets(results, previous?.results)) {
    if (t.value === null) continue;
    const met = t.met === null ? '' : t.met ? '  met' : '  NOT MET';
    log(
      `  ${t.item.padEnd(5)} ${t.what.padEnd(80)} ${t.measured.padStart(12)} (${t.target})${met}  before ${t.before || 'n/a'}`,
    );
  }
  log(`done in ${results.durationS.toFixed(0)} s`);
  const failures = [throughput, coldStart, memory, scale, composition, profile].filter(
    (o) => !o.ok && o.error !== 'skipped (--only)',
  );
  process.exitCode = failures.length > 0 ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.once('exit', killAll);

main().catch((err: unknown) => {
  console.error(err);
  killAll();
  process.exit(1);
});
