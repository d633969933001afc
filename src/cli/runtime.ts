/**
 * `skiff runtime test`: runs the runtime conformance kit against any runtime command. It starts the
 * command itself, needs no running platform, prints a CASE RESULT TIME DETAIL table and exits 1 when
 * a case fails.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CASE_NAMES } from '../executor/conformance/case-names.js';
import type { CaseResult } from '../executor/conformance/run.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson, renderTable, startSpinner } from './output.js';

interface TestOptions {
  function?: string;
  handler?: string;
  only?: string;
  env?: string[];
}

const WHERE = 'skiff runtime test';

export function registerRuntime(program: Command): void {
  const runtime = program
    .command('runtime')
    .description('check a language runtime (bridge) against the protocol');
  withExamples(runtime, 'skiff runtime test --help');

  withExamples(
    runtime
      .command('test')
      .usage('[options] -- <command...>')
      .description(
        'start a runtime command and drive it through every runtime-protocol case ' +
          '(see docs/runtime-protocol.md); exits 1 if a case fails',
      )
      .argument('<command...>', 'the runtime command and its arguments, after `--`')
      .option('--function <dir>', "the conformance function's folder, sent as INIT codeDir (default: none)")
      .option('--handler <file>', 'the entry file in --function, sent as INIT handler')
      .option('--only <cases>', `run only these comma-separated cases: ${CASE_NAMES.join(', ')}`)
      .option(
        '--env <KEY=VALUE>',
        "add a variable to the runtime's environment (repeatable)",
        (value: string, all: string[] | undefined) => [...(all ?? []), value],
      )
      .action((command: string[], opts: TestOptions, cmd: Command) => test(command, opts, cmd)),
    'skiff runtime test --function runtimes/node/conformance --handler index.mjs -- node dist/runtimes/node/bridge.js',
    'skiff runtime test --function runtimes/python/conformance --handler main.py -- python3 -u runtimes/python/bridge.py',
    'skiff runtime test --only handshake,echo,cancel -- ./my-runtime',
    'skiff runtime test --json -- ./my-runtime',
  );
}

function parseOnly(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !CASE_NAMES.includes(name));
  if (unknown.length > 0) {
    throw usageError(
      `unknown case ${unknown.map((n) => `"${n}"`).join(', ')}; the cases are: ${CASE_NAMES.join(', ')}`,
      WHERE,
    );
  }
  if (names.length === 0) throw usageError('--only needs at least one case name', WHERE);
  return names;
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--env expects KEY=VALUE, got "${pair}"`, WHERE);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function functionDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const abs = path.resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw usageError(`no such folder: ${dir} (--function)`, WHERE);
  return abs;
}

async function test(argv: string[], opts: TestOptions, cmd: Command): Promise<void> {
  const { json } = globalOptions(cmd);
  const [command, ...args] = argv;
  if (command === undefined || command === '')
    throw usageError('missing the runtime command after `--`', WHERE);
  const only = parseOnly(opts.only);
  const env = parseEnv(opts.env ?? []);
  const dir = functionDir(opts.function);

  const count = only?.length ?? CASE_NAMES.length;
  const spinner = startSpinner(`Running ${count} conformance cases against ${argv.join(' ')}…`, {
    enabled: !json,
    stream: process.stderr,
  });
  let results: CaseResult[];
  try {
    // the harness loads here: no other command needs it
    const { runConformance } = await import('../executor/conformance/run.js');
    results = await runConformance({
      command,
      args,
      env,
      ...(dir === undefined ? {} : { functionDir: dir }),
      ...(opts.handler === undefined ? {} : { handler: opts.handler }),
      ...(only === undefined ? {} : { only }),
    });
  } finally {
    spinner.stop();
  }

  const failed = results.filter((r) => !r.passed);
  if (failed.length > 0) process.exitCode = 1;
  if (json) {
    printJson(results);
    return;
  }
  console.log(
    renderTable(
      ['CASE', 'RESULT', 'TIME', 'DETAIL'],
      results.map((r) => [r.name, r.passed ? 'PASS' : 'FAIL', `${r.durationMs} ms`, r.detail]),
    ),
  );
  for (const r of failed) {
    if (r.stderr.length === 0) continue;
    console.log(`\nstderr of the runtime in ${r.name}:\n${r.stderr.map((line) => `  ${line}`).join('\n')}`);
  }
  console.log(
    failed.length === 0
      ? `\n✔ all ${results.length} cases passed`
      : `\n✖ ${failed.length} of ${results.length} cases failed: ${failed.map((r) => r.name).join(', ')}`,
  );
}
