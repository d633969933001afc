/**
 * Options shared by every command. `--json` and `--data-dir` live on the program itself, so they
 * work in any position (`skiff --json fn list` and `skiff fn list --json`); commands read them
 * through `globalOptions(cmd)`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import type { ClientTarget } from './client.js';
import { withHint } from './output.js';

export interface GlobalOptions {
  json: boolean;
  dataDir: string | undefined;
  /** The platform the flags name (client.ts: flags, then environment, context, data folder). */
  target: ClientTarget;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--json', 'print machine-readable JSON instead of text')
    .option('--url <url>', "the platform's control API (default: $SKIFF_URL, else the current context)")
    .option('--context <name>', 'a context recorded by `skiff login` (default: the current one)')
    .option('--data-dir <dir>', 'the platform data directory (default: $SKIFF_HOME, else ./.skiff)');
}

export function globalOptions(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals<{ json?: boolean; dataDir?: string; url?: string; context?: string }>();
  return {
    json: opts.json === true,
    dataDir: opts.dataDir,
    target: { dataDir: opts.dataDir, url: opts.url, context: opts.context },
  };
}

/** Appends an "Examples:" block to a command's help. */
export function withExamples(cmd: Command, ...examples: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** A usage error (exit code 2) with a pointer to the command's help. */
export function usageError(message: string, helpFor = 'skiff'): SkiffError {
  return withHint(new SkiffError('SKIFF_E_CLI_USAGE', message), `run \`${helpFor} --help\` for usage`);
}

/**
 * commander argParser for positive integers; commander reports a bad value as
 * "option '--limit <n>' argument 'x' is invalid. expected a positive integer", a usage error.
 */
export function parsePositiveInt(_flag?: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError('expected a positive integer');
    }
    return n;
  };
}

/** The full command path (`skiff fn deploy`) of a command, for hints. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
