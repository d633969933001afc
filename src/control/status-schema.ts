/** The answers of `GET /v1/status` and the probes (control/status.ts), for the OpenAPI document. */
import { z } from 'zod';

const count = z.number().int().min(0);
const bytesOrNull = z.number().int().min(0).nullable();

export const readinessSchema = z.object({
  status: z.enum(['ready', 'starting', 'draining']),
  reason: z.string().optional().meta({ description: 'Why it is not ready (a 503).' }),
});
export const livenessSchema = z.object({ status: z.literal('live') });

export const statusSchema = z.object({
  version: z.string().meta({ description: "Skiff's version." }),
  startedAt: z.iso.datetime(),
  uptimeMs: count,
  ready: z.boolean(),
  phase: z.enum(['starting', 'ready', 'draining']),
  reason: z.string().optional().meta({ description: 'Why it is not ready.' }),
  node: z.string().meta({ description: 'The Node.js version the platform runs on.' }),
  listeners: z.record(z.string(), z.string()).meta({ description: 'Listener name → URL.' }),
  functions: count.meta({ description: 'Functions in the registry.' }),
  instances: z
    .record(z.string(), count)
    .meta({ description: 'Instances of every function by state (starting, ready, stopping, ...).' }),
  warmPool: z.record(z.string(), count).meta({ description: 'Warm-pool processes waiting, per runtime.' }),
  queue: z.object({
    executorQueued: count.meta({ description: 'Invocations waiting for an instance.' }),
    executorInFlight: count.meta({ description: 'Invocations running in an instance.' }),
    asyncQueued: count.meta({ description: 'Asynchronous invocations waiting in the durable queue.' }),
    asyncRunning: count.meta({ description: 'Asynchronous invocations being attempted.' }),
    asyncBytes: count.meta({ description: 'Bytes of the asynchronous invocations not final yet.' }),
  }),
  disk: z.object({
    path: z.string().meta({ description: 'The data directory.' }),
    freeBytes: bytesOrNull.meta({ description: 'Bytes free for the platform on its filesystem.' }),
    totalBytes: bytesOrNull,
  }),
});
