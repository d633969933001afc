import type { z } from 'zod';
import type { Executor } from '../executor/executor.js';
import { sendJson } from '../shared/http.js';
import type { Route } from './app.js';

export { backupRoutes } from './backup.js';
import type { endpointsSchema, executorSchema, healthSchema, limitsSchema } from './response-schemas.js';

/** Routes about the API itself and the platform as a whole. */
export function metaRoutes(
  executor: Executor,
  endpoints: () => Record<string, string> = () => ({}),
  limits: z.output<typeof limitsSchema> = { maxUploadBytes: 0 },
): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/limits',
      handler: ({ res }) => sendJson(res, 200, limits),
    },
    {
      method: 'GET',
      path: '/v1/endpoints',
      handler: ({ res }) =>
        sendJson(res, 200, { endpoints: endpoints() } satisfies z.output<typeof endpointsSchema>),
    },
    {
      method: 'GET',
      path: '/v1/executor',
      handler: ({ res }) =>
        sendJson(res, 200, {
          warmPool: executor.warmCounts(),
          budget: executor.budgetStatus(),
        } satisfies z.output<typeof executorSchema>),
    },
    {
      method: 'GET',
      path: '/v1/openapi.json',
      public: true,
      // the document (and the schemas it is generated from) loads at the first ask, not at start
      handler: async ({ res }) => sendJson(res, 200, (await import('./openapi.js')).openApiDocument),
    },
    {
      method: 'GET',
      path: '/v1/health',
      public: true,
      handler: ({ res }) => sendJson(res, 200, { status: 'ok' } satisfies z.output<typeof healthSchema>),
    },
  ];
}
