/** `skiff status`: the platform as a whole, from `GET /v1/status`. */
import type { Command } from 'commander';
import { humanSize } from '../shared/sizes.js';
import { SkiffClient } from './client.js';
import { globalOptions, withExamples } from './options.js';
import { printJson } from './output.js';

/** The answer of `GET /v1/status` (control/status-schema.ts), as far as the CLI reads it. */
interface Status {
  version: string;
  startedAt: string;
  uptimeMs: number;
  ready: boolean;
  phase: string;
  reason?: string;
  node: string;
  listeners: Record<string, string>;
  functions: number;
  instances: Record<string, number>;
  warmPool: Record<string, number>;
  queue: {
    executorQueued: number;
    executorInFlight: number;
    asyncQueued: number;
    asyncRunning: number;
    asyncBytes: number;
  };
  disk: { path: string; freeBytes: number | null; totalBytes: number | null };
}

export function registerStatus(program: Command): void {
  withExamples(
    program
      .command('status')
      .description(
        'summarise the platform: version, uptime, readiness, listeners, functions, instances, queues, disk space',
      )
      .action((_opts: unknown, cmd: Command) => status(cmd)),
    'skiff status',
    'skiff status --json',
  );
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first === -1
    ? '0s'
    : parts
        .slice(first, first + 2)
        .map(([n, unit]) => `${n}${unit}`)
        .join(' ');
}

const counts = (byKey: Record<string, number>): string => {
  const entries = Object.entries(byKey).filter(([, n]) => n > 0);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${n} ${k}`).join(', ');
};

/** The lines `skiff status` prints (without --json). */
export function statusLines(s: Status): string[] {
  const width = Math.max(8, ...Object.keys(s.listeners).map((n) => n.length));
  const disk =
    s.disk.freeBytes === null
      ? `${s.disk.path} (free space unknown)`
      : `${humanSize(s.disk.freeBytes)} free of ${humanSize(s.disk.totalBytes ?? 0)} (${s.disk.path})`;
  return [
    `Skiff ${s.version} (Node.js ${s.node}), up ${duration(s.uptimeMs)} since ${s.startedAt}`,
    `ready:      ${s.ready ? 'yes' : `no, ${s.phase}${s.reason === undefined ? '' : ` (${s.reason})`}`}`,
    'listeners:',
    ...Object.entries(s.listeners).map(([name, url]) => `  ${name.padEnd(width)} ${url}`),
    `functions:  ${s.functions}`,
    `instances:  ${counts(s.instances)}`,
    `warm pool:  ${counts(s.warmPool)}`,
    `queue:      ${s.queue.executorQueued} waiting for an instance, ${s.queue.executorInFlight} running`,
    `async:      ${s.queue.asyncQueued} queued, ${s.queue.asyncRunning} running (${humanSize(s.queue.asyncBytes)})`,
    `disk:       ${disk}`,
  ];
}

async function status(cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<Status>('GET', '/v1/status');
  if (json) printJson(body);
  else for (const line of statusLines(body)) console.log(line);
}
