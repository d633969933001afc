/**
 * Routes of a function's scaling override: changed without a redeploy, applied at once to the
 * running versions (`skiff fn scale`). The effective settings are also in GET /v1/functions/{name}.
 */
import { SCALING_FIELDS, type ScalingInput } from '../model/scaling.js';
import { parseScaling } from '../shared/validate.js';
import { SkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import type { Route } from './app.js';
import type { Deployer } from './deploy/deployer.js';

export interface ScalingDeps {
  deployer: Deployer;
}

const MAX_BODY_BYTES = 4096;

/** Scaling settings given as deploy query parameters (`?minInstances=1&concurrency=10`). */
export function scalingFromQuery(query: URLSearchParams): ScalingInput | undefined {
  const raw: Record<string, unknown> = {};
  for (const field of SCALING_FIELDS) {
    const value = query.get(field);
    if (value === null) continue;
    const n = Number(value);
    raw[field] = value.trim() === '' || !Number.isFinite(n) ? value : n;
  }
  return Object.keys(raw).length === 0 ? undefined : parseScaling(raw, 'a deploy parameter');
}

function readPatch(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SCALING',
      'send a JSON object of scaling settings, e.g. { "minInstances": 1, "maxInstances": 4, "concurrency": 10 }',
    );
  }
  return parsed as Record<string, unknown>;
}

export function scalingRoutes({ deployer }: ScalingDeps): Route[] {
  return [
    {
      method: 'PATCH',
      path: '/v1/functions/{name}/scaling',
      handler: async ({ req, res, params }) => {
        const patch = readPatch(await readBody(req, MAX_BODY_BYTES));
        sendJson(res, 200, await deployer.setScaling(params['name'] ?? '', patch));
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}/scaling',
      handler: async ({ res, params }) => {
        sendJson(res, 200, await deployer.setScaling(params['name'] ?? '', null));
      },
    },
  ];
}
