/**
 * `skiff logs <name>`: prints a function's recent log lines (oldest first); `-f` follows them live
 * (logs-follow.ts), `--all` every function's.
 */
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { printable, printJson } from './output.js';
import type { FollowedEntry } from './logs-follow.js';

export interface LogEntry {
  ts: string;
  stream: 'stdout' | 'stderr' | 'log' | 'build' | 'platform';
  level: string;
  message: string;
  invocationId?: string;
  rootId?: string;
  traceId?: string;
  version?: number;
}

export function registerLogs(program: Command): void {
  withExamples(
    program
      .command('logs')
      .description(
        "print a function's recent logs: output, ctx.log lines, builds and platform events; with --root, the lines of one chain of calls and casts",
      )
      .argument('[name]', 'function name (with --root and no name: every function)')
      .option('-n, --limit <n>', 'how many of the latest lines to print', parsePositiveInt('--limit'))
      .option(
        '-f, --follow',
        'keep printing lines as they are written (Ctrl+C stops); with --json, one JSON object a line',
      )
      .option(
        '--since <when>',
        'only lines from this time on: a duration back (30s, 10m, 2h, 1d) or an ISO time',
      )
      .option('--invocation <id>', 'only the lines of this invocation')
      .option('--all', "every function's lines, each with its function's name")
      .option('--root <id>', 'only the lines of the chain started by this invocation id')
      .action((name: string | undefined, opts: LogsOptions, cmd: Command) => logs(name, opts, cmd)),
    'skiff logs hello',
    'skiff logs hello -f',
    'skiff logs hello --since 10m --invocation 6f0c2d1e-…',
    'skiff logs --all -f --json',
    'skiff logs hello --limit 50 --json',
    'skiff logs --root 6f0c2d1e-…',
  );
}

interface LogsOptions {
  limit?: number;
  root?: string;
  follow?: boolean;
  since?: string;
  invocation?: string;
  all?: boolean;
}

async function logs(name: string | undefined, opts: LogsOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  if (name !== undefined && opts.all === true) {
    throw new SkiffError('SKIFF_E_CLI_USAGE', 'name a function or give --all, not both');
  }
  if (opts.follow === true || opts.all === true) {
    if (opts.root !== undefined) {
      throw new SkiffError(
        'SKIFF_E_CLI_USAGE',
        '--root cannot be used with --follow or --all; use --invocation',
      );
    }
    if (name === undefined && opts.all !== true) {
      throw new SkiffError('SKIFF_E_CLI_USAGE', 'name a function (skiff logs <name> -f) or give --all');
    }
    if (opts.follow === true) return follow(client, name, opts, json);
    return printAll(client, opts, json);
  }
  if (name === undefined && opts.root === undefined) {
    throw new SkiffError(
      'SKIFF_E_CLI_USAGE',
      'name a function (skiff logs <name>), every function (skiff logs --all) or a chain (skiff logs --root <id>)',
    );
  }
  const names =
    name !== undefined
      ? [name]
      : (await client.api<{ functions: { name: string }[] }>('GET', '/v1/functions')).body.functions.map(
          (f) => f.name,
        );
  const lines: (LogEntry & { function: string })[] = [];
  for (const fn of names) {
    const { body } = await client.api<{ logs: LogEntry[] }>(
      'GET',
      `/v1/functions/${encodeURIComponent(fn)}/logs`,
      { query: { limit: opts.limit, rootId: opts.root, since: opts.since, invocationId: opts.invocation } },
    );
    for (const entry of body.logs) lines.push({ ...entry, function: fn });
  }
  // one chain runs across functions: its lines in time order, each with its function
  if (names.length > 1) lines.sort((a, b) => a.ts.localeCompare(b.ts));
  if (json) {
    printJson({ logs: lines });
    return;
  }
  for (const entry of lines) {
    const prefix = names.length > 1 ? `${entry.function} ` : '';
    process.stdout.write(`${prefix}${formatLogLine(entry)}\n`);
  }
}

/** `skiff logs --all`: every function's recent lines, in time order. */
async function printAll(client: SkiffClient, opts: LogsOptions, json: boolean): Promise<void> {
  const { body } = await client.api<{ logs: (LogEntry & { function: string })[] }>('GET', '/v1/logs', {
    query: { limit: opts.limit, since: opts.since, invocationId: opts.invocation },
  });
  if (json) {
    printJson(body);
    return;
  }
  for (const entry of body.logs) process.stdout.write(`${entry.function} ${formatLogLine(entry)}\n`);
}

/** `skiff logs -f`: prints lines as they come until Ctrl+C (or the function is deleted). */
async function follow(
  client: SkiffClient,
  name: string | undefined,
  opts: LogsOptions,
  json: boolean,
): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { followLogs } = await import('./logs-follow.js');
    const end = await followLogs(
      client,
      {
        name,
        all: opts.all,
        since: opts.since,
        invocation: opts.invocation,
        limit: opts.limit,
        signal: controller.signal,
        onNotice: (message) => process.stderr.write(`${message}\n`),
      },
      (entry: FollowedEntry) => {
        if (json) process.stdout.write(`${JSON.stringify(entry)}\n`);
        else
          process.stdout.write(`${opts.all === true ? `${entry.function} ` : ''}${formatLogLine(entry)}\n`);
      },
    );
    if (end === 'deleted') process.stderr.write(`${name ?? 'the function'} was deleted; its log ends here\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** `<ISO time> <stream> [<invocation id, 8 chars>] <message>`; the bracket is left out without an id; made printable. */
export function formatLogLine(entry: LogEntry): string {
  const date = new Date(entry.ts);
  const ts = Number.isNaN(date.getTime()) ? entry.ts : date.toISOString();
  const id = entry.invocationId ? ` [${entry.invocationId.slice(0, 8)}]` : '';
  // a function writes what it likes: control characters are shown, not obeyed by the terminal
  return printable(`${ts} ${entry.stream}${id} ${entry.message.replace(/\n+$/, '')}`);
}
