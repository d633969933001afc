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
import { type Command, CommanderError } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { buildLogOf, errorJson, exitCodeFor, formatError, withHint } from './output.js';
import { buildProgram } from './program.js';

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

// `skiff … | head` closes stdout early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await run(process.argv);
