import { sendJson } from '../shared/http.js';
import type { Route } from './app.js';
import { openApiDocument } from './openapi.js';

/** Routes about the API itself. */
export function metaRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/openapi.json',
      public: true,
      handler: ({ res }) => sendJson(res, 200, openApiDocument),
    },
    {
      method: 'GET',
      path: '/v1/health',
      public: true,
      handler: ({ res }) => sendJson(res, 200, { status: 'ok' }),
    },
  ];
}
