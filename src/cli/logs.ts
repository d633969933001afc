/** `skiff logs <name>`: prints a function's recent log lines (oldest first). */
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { printJson } from './output.js';

export interface LogEntry {
  ts: string;
  stream: 'stdout' | 'stderr' | 'log' | 'build' | 'platform';
  level: string;
  message: string;
  invocationId?: string;
  rootId?: string;
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
      .option('--root <id>', 'only the lines of the chain started by this invocation id')
      .action((name: string | undefined, opts: LogsOptions, cmd: Command) => logs(name, opts, cmd)),
    'skiff logs hello',
    'skiff logs hello --limit 50 --json',
    'skiff logs --root 6f0c2d1e-…',
  );
}

interface LogsOptions {
  limit?: number;
  root?: string;
}

async function logs(name: string | undefined, opts: LogsOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  if (name === undefined && opts.root === undefined) {
    throw new SkiffError(
      'SKIFF_E_CLI_USAGE',
      'name a function (skiff logs <name>) or a chain (skiff logs --root <id>)',
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
      { query: { limit: opts.limit, rootId: opts.root } },
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

/** `<ISO time> <stream> [<invocation id, 8 chars>] <message>`; the bracket is left out without an id. */
export function formatLogLine(entry: LogEntry): string {
  const date = new Date(entry.ts);
  const ts = Number.isNaN(date.getTime()) ? entry.ts : date.toISOString();
  const id = entry.invocationId ? ` [${entry.invocationId.slice(0, 8)}]` : '';
  return `${ts} ${entry.stream}${id} ${entry.message.replace(/\n+$/, '')}`;
}
