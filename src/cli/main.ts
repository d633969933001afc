/**
 * The `skiff` command (`bin/skiff.js` imports the built copy of this file): `skiff <noun> <verb>`.
 * Every failure ends here and is printed in one template (or as JSON with `--json`):
 *
 *   ✖ <message>
 *     code: SKIFF_E_...
 *     hint: <what to do>
 *
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { registerCompat } from './compat.js';
import { registerDev } from './dev.js';
import { registerFn } from './fn.js';
import { registerInit } from './init.js';
import { registerInvocation } from './invocation.js';
import { registerInvoke } from './invoke.js';
import { registerLogin } from './login.js';
import { registerLogs } from './logs.js';
import { addGlobalOptions, commandPath, usageError, withExamples } from './options.js';
import { buildLogOf, errorJson, exitCodeFor, formatError, withHint } from './output.js';
import { registerRuntime } from './runtime.js';
import { registerSecret } from './secret.js';
import { registerServe } from './serve.js';
import { registerState } from './state.js';
import { registerWorkflow } from './workflow.js';

export function buildProgram(): Command {
  const program = new Command('skiff')
    .description('Skiff: a lightweight Function-as-a-Service platform for the edge and the cloud')
    .version(readVersion(), '-v, --version', 'print the Skiff version')
    .helpOption('-h, --help', 'show help for a command')
    .configureOutput({ outputError: () => undefined }) // commander's errors are printed in our template
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  addGlobalOptions(program);
  withExamples(
    program,
    'skiff serve',
    'skiff fn deploy ./hello',
    'skiff invoke hello',
    'skiff logs hello',
    'skiff fn --help',
  );
  registerServe(program);
  registerLogin(program);
  registerFn(program);
  registerInit(program);
  registerDev(program);
  registerInvoke(program);
  registerInvocation(program);
  registerLogs(program);
  registerSecret(program);
  registerState(program);
  registerWorkflow(program);
  registerRuntime(program);
  registerCompat(program);
  installExitOverrides(program);
  return program;
}

/** Parses argv, runs the command and returns the exit code; never throws. */
export async function run(argv: readonly string[]): Promise<number> {
  let program: Command | undefined;
  try {
    program = buildProgram();
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err, wantsJson(program, argv));
  }
}

/** Commander's own usage errors become SKIFF_E_CLI_USAGE, pointing at the failing command's help. */
function installExitOverrides(cmd: Command): void {
  const where = commandPath(cmd);
  cmd.exitOverride((err: CommanderError) => {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      throw err;
    }
    // commander appends suggestions as a second line: "(Did you mean fn?)"
    const [first = '', ...rest] = err.message.replace(/^error: /, '').split('\n');
    const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1];
    const error = usageError(first, where);
    if (suggestion !== undefined)
      withHint(error, `did you mean \`${suggestion}\`? Run \`${where} --help\` for usage`);
    throw error;
  });
  for (const sub of cmd.commands) installExitOverrides(sub);
}

function report(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // help or version was printed by commander; help shown for a missing verb counts as a usage error
    return err.exitCode === 0 ? 0 : 2;
  }
  const error = err instanceof SkiffError ? err : unexpected(err);
  if (json) {
    process.stdout.write(`${errorJson(error)}\n`);
  } else {
    let text = formatError(error);
    const build = buildLogOf(error);
    if (build !== undefined) {
      const header =
        build.version === undefined ? 'Build output:' : `Build output (version ${build.version}):`;
      text += `\n\n${header}\n${build.buildLog.replace(/\s+$/, '')}`;
    }
    process.stderr.write(`${text}\n`);
    if (process.env.SKIFF_DEBUG && error.cause !== undefined) {
      process.stderr.write(`\n${inspectCause(error.cause)}\n`);
    }
  }
  return exitCodeFor(error);
}

function unexpected(err: unknown): SkiffError {
  const message = err instanceof Error ? err.message : String(err);
  return withHint(
    new SkiffError('SKIFF_E_INTERNAL', `unexpected error in the skiff CLI: ${message}`, { cause: err }),
    'run again with SKIFF_DEBUG=1 to see the stack trace, and report it',
  );
}

function inspectCause(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}

/** `--json` counts even when parsing failed before commander stored it. */
function wantsJson(program: Command | undefined, argv: readonly string[]): boolean {
  if (program?.opts<{ json?: boolean }>().json === true) return true;
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** The version from the nearest package.json above this file (works from src/ and from dist/). */
function readVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'skiff' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // keep looking further up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

// `skiff … | head` closes stdout early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await run(process.argv);
