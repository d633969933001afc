/** `skiff logs <name>`: prints a function's recent log lines (oldest first). */
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { printJson } from './output.js';

export interface LogEntry {
  ts: string;
  stream: 'stdout' | 'stderr' | 'log' | 'build' | 'platform';
  level: string;
  message: string;
  invocationId?: string;
  version?: number;
}

export function registerLogs(program: Command): void {
  withExamples(
    program
      .command('logs')
      .description("print a function's recent logs: output, ctx.log lines, builds and platform events")
      .argument('<name>', 'function name')
      .option('-n, --limit <n>', 'how many of the latest lines to print', parsePositiveInt('--limit'))
      .action((name: string, opts: { limit?: number }, cmd: Command) => logs(name, opts, cmd)),
    'skiff logs hello',
    'skiff logs hello --limit 50 --json',
  );
}

async function logs(name: string, opts: { limit?: number }, cmd: Command): Promise<void> {
  const { json, dataDir } = globalOptions(cmd);
  const { body } = await new SkiffClient({ dataDir }).api<{ logs: LogEntry[] }>(
    'GET',
    `/v1/functions/${encodeURIComponent(name)}/logs`,
    { query: { limit: opts.limit } },
  );
  if (json) {
    printJson(body);
    return;
  }
  for (const entry of body.logs) process.stdout.write(`${formatLogLine(entry)}\n`);
}

/** `<ISO time> <stream> [<invocation id, 8 chars>] <message>`; the bracket is left out without an id. */
export function formatLogLine(entry: LogEntry): string {
  const date = new Date(entry.ts);
  const ts = Number.isNaN(date.getTime()) ? entry.ts : date.toISOString();
  const id = entry.invocationId ? ` [${entry.invocationId.slice(0, 8)}]` : '';
  return `${ts} ${entry.stream}${id} ${entry.message.replace(/\n+$/, '')}`;
}
