/** The human view of `skiff fn get`: the function, its versions and split, its settings, its instances. */
import type { FunctionDetail, Instance, ResolvedSpec } from './fn.js';
import { formatTime, lastLines, renderKeyValue, renderTable, shortHash } from './output.js';
import { renderScaling } from './scale.js';
import { mib } from '../shared/sizes.js';

const BUILD_LOG_LINES = 20;

const mibOrDash = (bytes: number | null | undefined): string => (bytes == null ? '-' : mib(bytes));

/** Whether the live spec says `access.private` (skiff.json). */
function isPrivate(fn: FunctionDetail): boolean {
  if (fn.resolved != null) return fn.resolved.access.private;
  const access = (fn.spec as { access?: { private?: unknown } } | null)?.access;
  return access?.private === true;
}

/** `version 3: 90%, version 4: 10%`, or undefined without a split. */
function renderTraffic(fn: FunctionDetail): string | undefined {
  const traffic = fn.traffic ?? [];
  if (traffic.length < 2) return undefined;
  return traffic.map((t) => `version ${t.version}: ${t.percent}%`).join(', ');
}

function renderTriggers(r: ResolvedSpec): string {
  const parts = ['http, grpc, coap'];
  for (const m of r.triggers.mqtt)
    parts.push(`mqtt ${m.subscribe}${m.publish === undefined ? '' : ` → ${m.publish}`}`);
  for (const c of r.triggers.cron) parts.push(`cron "${c.schedule}" (${c.timezone ?? 'UTC'})`);
  return parts.join('; ');
}

/** The live version's resolved settings; secrets by name only (the API never sends their values). */
function renderSettings(r: ResolvedSpec): string {
  const env = Object.entries(r.env);
  const l = r.limits;
  return `Settings (version ${r.version}):\n${renderKeyValue([
    ['  Runtime', `${r.runtime} (flavor ${r.flavor})`],
    ['  Handler', r.handler],
    ...(r.command === null ? [] : [['  Command', r.command.join(' ')] as const]),
    ['  Env', env.length === 0 ? '-' : env.map(([k, v]) => `${k}=${v}`).join(', ')],
    ['  Secrets', r.secrets.length === 0 ? '-' : `${r.secrets.join(', ')} (values not shown)`],
    ['  Triggers', renderTriggers(r)],
    ['  Timeout', `${r.timeoutMs} ms (start: ${r.startTimeoutMs} ms)`],
    [
      '  Limits',
      `memory ${l['memoryMb']} MiB, cpus ${l['cpus']}, pids ${l['pids']}, /tmp ${l['tmpMb']} MiB, open files ${l['openFiles']}, file size ${l['fileSizeMb']} MiB`,
    ],
    ['  Network', r.network],
    ['  Callers', r.access.callers === null ? 'any function' : r.access.callers.join(', ') || 'none'],
  ])}`;
}

function renderInstances(instances: Instance[]): string {
  if (instances.length === 0) return 'No instances running.';
  return renderTable(
    ['INSTANCE', 'VERSION', 'STATE', 'PID', 'RSS', 'CGROUP-MEMORY', 'IN-FLIGHT', 'SERVED', 'UPTIME'],
    instances.map((i) => [
      i.id,
      String(i.version),
      i.state,
      i.pid === null ? '-' : String(i.pid),
      mibOrDash(i.rssBytes),
      mibOrDash(i.cgroupMemoryBytes),
      String(i.inFlight),
      String(i.served ?? '-'),
      i.uptimeMs == null ? '-' : `${(i.uptimeMs / 1000).toFixed(1)}s`,
    ]),
  );
}

/** The human view of `skiff fn get`. */
export function renderFunction(fn: FunctionDetail): string {
  const versions = [...(fn.versions ?? [])].sort((a, b) => b.version - a.version);
  const traffic = renderTraffic(fn);
  const sections = [
    renderKeyValue([
      ['Name', fn.name],
      ['Runtime', fn.runtime],
      ['Handler', fn.handler ?? '-'],
      ['Live version', fn.liveVersion === null ? '-' : String(fn.liveVersion)],
      ...(traffic === undefined ? [] : [['Traffic', traffic] as const]),
      ['Hash', fn.hash ?? '-'],
      ['Created', formatTime(fn.createdAt)],
      ['Updated', formatTime(fn.updatedAt)],
      ['Access', isPrivate(fn) ? `private (a token is needed: skiff fn token ${fn.name})` : 'public'],
    ]),
    versions.length === 0
      ? 'No versions.'
      : renderTable(
          ['VERSION', 'STATUS', 'LIVE', 'TRAFFIC', 'HASH', 'CREATED', 'BUILD-MS'],
          versions.map((v) => {
            const share = fn.traffic?.find((t) => t.version === v.version);
            return [
              String(v.version),
              v.status,
              v.live ? 'yes' : '-',
              share === undefined ? '-' : `${share.percent}%`,
              shortHash(v.hash),
              formatTime(v.createdAt),
              String(v.buildMs),
            ];
          }),
        ),
  ];
  if (fn.resolved != null) sections.push(renderSettings(fn.resolved));
  sections.push(renderInstances(fn.instances ?? []));
  if ((fn.instances ?? []).length > 0) {
    sections.push(
      'PID is the instance’s own process (its bridge), RSS its resident memory; CGROUP-MEMORY is what its\nsandbox’s cgroup charges (all its processes, page cache and /tmp), which the memory limit counts.',
    );
  }
  if (fn.scaling !== undefined)
    sections.push(`Scaling:\n${renderScaling(fn.scaling, fn.scalingOverride ?? null)}`);
  const status = fn.status;
  if (status !== undefined) {
    sections.push(
      renderKeyValue([
        ['Queued', String(status.queued)],
        ['Cold starts', `${status.coldStarts} (of ${status.starts} starts)`],
        ['Failures in a row', String(status.failures)],
        ['Back-off until', status.backoffUntil === null ? '-' : formatTime(status.backoffUntil)],
      ]),
    );
    if (status.recentErrors.length > 0) {
      sections.push(
        `Recent errors:\n${renderTable(
          ['AT', 'CODE', 'MESSAGE'],
          status.recentErrors.map((e) => [formatTime(e.at), e.code, e.message]),
        )}`,
      );
    }
  }
  const live = versions.find((v) => v.live) ?? versions.find((v) => v.version === fn.liveVersion);
  if (live !== undefined && live.buildLog && live.buildLog.trim() !== '') {
    sections.push(`Build output (version ${live.version}):\n${lastLines(live.buildLog, BUILD_LOG_LINES)}`);
  }
  return sections.join('\n\n');
}
