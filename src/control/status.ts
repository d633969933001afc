/**
 * `GET /v1/status` (what `skiff status` shows) and the control API's probes `/v1/health/{live,ready}`:
 * the platform as a whole, from its version and uptime to the space left in the data directory.
 */
import { statfsSync } from 'node:fs';
import type { z } from 'zod';
import type { Health } from '../shared/health.js';
import { answerLive, answerReady, CONTROL_PROBES } from '../shared/health-http.js';
import { sendJson } from '../shared/http.js';
import { skiffVersion } from '../shared/version.js';
import type { Route } from './app.js';
import type { statusSchema } from './status-schema.js';

export interface StatusDeps {
  health: Health;
  dataDir: string;
  endpoints: () => Record<string, string>;
  functions: () => number;
  executor: () => { instances: Record<string, number>; queued: number; inFlight: number };
  warmPool: () => Record<string, number>;
  asyncBacklog: () => { queued: number; running: number; bytes: number };
}

/** Free and total bytes of the data directory's filesystem; null when statfs fails. */
function disk(dataDir: string): z.output<typeof statusSchema>['disk'] {
  try {
    const s = statfsSync(dataDir);
    return { path: dataDir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { path: dataDir, freeBytes: null, totalBytes: null };
  }
}

export function statusRoutes(deps: StatusDeps): Route[] {
  return [
    { method: 'GET', path: CONTROL_PROBES.live, public: true, handler: ({ res }) => answerLive(res) },
    {
      method: 'GET',
      path: CONTROL_PROBES.ready,
      public: true,
      handler: ({ res }) => answerReady(deps.health, res),
    },
    {
      method: 'GET',
      path: '/v1/status',
      handler: ({ res }) => {
        const readiness = deps.health.readiness();
        const executor = deps.executor();
        const body: z.output<typeof statusSchema> = {
          version: skiffVersion(),
          startedAt: deps.health.startedAt.toISOString(),
          uptimeMs: Date.now() - deps.health.startedAt.getTime(),
          ready: readiness.ready,
          phase: readiness.phase,
          ...(readiness.reason === undefined ? {} : { reason: readiness.reason }),
          node: process.version,
          listeners: deps.endpoints(),
          functions: deps.functions(),
          instances: executor.instances,
          warmPool: deps.warmPool(),
          queue: {
            executorQueued: executor.queued,
            executorInFlight: executor.inFlight,
            asyncQueued: 0,
            asyncRunning: 0,
            asyncBytes: 0,
          },
          disk: disk(deps.dataDir),
        };
        const backlog = deps.asyncBacklog();
        body.queue.asyncQueued = backlog.queued;
        body.queue.asyncRunning = backlog.running;
        body.queue.asyncBytes = backlog.bytes;
        sendJson(res, 200, body);
      },
    },
  ];
}
