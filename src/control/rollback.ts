/** POST /v1/functions/{name}/rollback: an earlier ready version live again (`skiff fn rollback`). */
import type { z } from 'zod';
import { readBody, sendJson } from '../shared/http.js';
import { parseWith } from '../shared/validate.js';
import type { Route } from './app.js';
import type { Deployer } from './deploy/deployer.js';
import { rollbackBodySchema } from './request-schemas.js';
import type { rollbackResultSchema } from './response-schemas.js';

const MAX_BODY_BYTES = 1024;

export function rollbackRoutes(deployer: Deployer): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/functions/{name}/rollback',
      handler: async ({ req, res, params }) => {
        const name = params['name'] ?? '';
        const text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8').trim();
        let raw: unknown = {};
        if (text !== '') {
          try {
            raw = JSON.parse(text);
          } catch {
            raw = text;
          }
        }
        const { version } = parseWith(
          rollbackBodySchema,
          raw,
          'SKIFF_E_INVALID_REQUEST',
          'the rollback body',
        );
        const outcome = await deployer.rollback(name, version);
        const { version: live, hash, status, createdAt, buildMs } = outcome.version;
        sendJson(res, 200, {
          function: name,
          from: outcome.from,
          version: { version: live, hash, status, live: true, createdAt, buildMs },
        } satisfies z.input<typeof rollbackResultSchema>);
      },
    },
  ];
}
