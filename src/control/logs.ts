/**
 * The log routes: `GET /v1/functions/{name}/logs` (a function's) and `GET /v1/logs` (every
 * function's, each line naming its function), both as a JSON list of recent lines or, with
 * `follow=true`, as a Server-Sent Events stream (log-follow-hub.ts; docs/architecture.md, "Logs that follow").
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { SkiffError } from '../shared/errors.js';
import { sendJson } from '../shared/http.js';
import type { FileLogStore } from '../store/file-logs.js';
import type { Route, RouteContext } from './app.js';
import { LogFollowHub, matches, type LogFilter } from './log-follow-hub.js';
import { logsQuery, parseRequest, platformLogsQuery, queryObject } from './request-schemas.js';
import type { logsResponseSchema, platformLogsResponseSchema } from './response-schemas.js';

/** How many of a function's latest log lines a filter (`rootId`, `since`, `invocationId`) looks through. */
const SCAN_LINES = 10_000;
/** …and at most this many of its latest bytes (4 MiB: 10 000 lines of 400 bytes). */
const SCAN_BYTES = 4 * 1024 * 1024;
/** Every function's lines read together for `GET /v1/logs` (split among them). */
const ALL_SCAN_BYTES = 16 * 1024 * 1024;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `since`: a duration back from `now` (`30s`, `10m`, `2h`, `1d`) or an ISO 8601 time, as ms since the epoch. */
export function parseSince(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined;
  const duration = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value.trim());
  if (duration !== null) return now - Number(duration[1]) * (UNIT_MS[duration[2] as string] ?? 0);
  const time = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? Date.parse(value.trim())
    : NaN;
  if (Number.isNaN(time)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `since ${JSON.stringify(value.slice(0, 64))} is neither a duration (30s, 10m, 2h, 1d) nor an ISO time (2026-12-07T06:00:00Z)`,
    );
  }
  return time;
}

function filterOf(query: { since?: string | undefined; invocationId?: string | undefined }): LogFilter {
  return { sinceMs: parseSince(query.since), invocationId: query.invocationId };
}

const isFollow = (follow: string | undefined): boolean => follow === 'true' || follow === '1';

function lastEventId(req: IncomingMessage, fromQuery: string | undefined): string | undefined {
  const header = req.headers['last-event-id'];
  return (Array.isArray(header) ? header[0] : header) ?? fromQuery;
}

/** The followers of the store's logs (server-stores.ts makes them; without: `follow=true` is refused). */
function followHub(logs: FileLogStore): LogFollowHub {
  const hub = LogFollowHub.of(logs);
  if (hub === undefined) throw new SkiffError('SKIFF_E_INVALID_REQUEST', 'this API cannot follow logs');
  return hub;
}

export interface LogRouteDeps {
  logs: FileLogStore;
}

/** The handler of `GET /v1/functions/{name}/logs`, once `name` is known to be a function's. */
export async function answerFunctionLogs(deps: LogRouteDeps, name: string, ctx: RouteContext): Promise<void> {
  const q = parseRequest(logsQuery, queryObject(ctx.query));
  const filter = filterOf(q);
  if (isFollow(q.follow)) {
    if (q.rootId !== undefined)
      throw new SkiffError('SKIFF_E_INVALID_REQUEST', 'rootId cannot be followed; use invocationId');
    await followHub(deps.logs).follow(ctx.res, {
      fn: name,
      filter,
      limit: q.limit,
      lastEventId: lastEventId(ctx.req, q.lastEventId),
    });
    return;
  }
  const filtered =
    q.rootId !== undefined || filter.sinceMs !== undefined || filter.invocationId !== undefined;
  const entries = filtered
    ? (await deps.logs.tail(name, SCAN_LINES, SCAN_BYTES))
        .filter((e) => q.rootId === undefined || e.rootId === q.rootId || e.invocationId === q.rootId)
        .filter((e) => matches(filter, e))
        .slice(-q.limit)
    : await deps.logs.tail(name, q.limit);
  sendJson(ctx.res, 200, { logs: entries } satisfies z.output<typeof logsResponseSchema>);
}

/** `GET /v1/logs`: every function's recent lines (or the stream of them), each naming its function. */
export function platformLogRoutes(deps: LogRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/logs',
      handler: async ({ req, res, query }) => {
        const q = parseRequest(platformLogsQuery, queryObject(query));
        const filter = filterOf(q);
        if (isFollow(q.follow)) {
          await followHub(deps.logs).follow(res, {
            fn: undefined,
            filter,
            limit: q.limit,
            lastEventId: lastEventId(req, q.lastEventId),
          });
          return;
        }
        const names = deps.logs.functionsWithLogs();
        const bytes = Math.min(SCAN_BYTES, Math.floor(ALL_SCAN_BYTES / Math.max(1, names.length)));
        const lines: z.output<typeof platformLogsResponseSchema>['logs'] = [];
        for (const fn of names) {
          const entries = await deps.logs.tail(fn, SCAN_LINES, bytes);
          for (const e of entries) if (matches(filter, e)) lines.push({ function: fn, ...e });
        }
        lines.sort((a, b) => a.ts.localeCompare(b.ts));
        sendJson(res, 200, { logs: lines.slice(-q.limit) } satisfies z.output<
          typeof platformLogsResponseSchema
        >);
      },
    },
  ];
}
