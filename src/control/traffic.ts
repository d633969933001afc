/** PUT /v1/functions/{name}/traffic: how the calls are split between versions (`skiff fn traffic`). */
import type { z } from 'zod';
import { readBody, sendJson } from '../shared/http.js';
import { parseWith } from '../shared/validate.js';
import type { TrafficShare } from '../store/registry.js';
import type { Route } from './app.js';
import type { Deployer } from './deploy/deployer.js';
import { trafficBodySchema } from './request-schemas.js';
import type { trafficResultSchema } from './response-schemas.js';

const MAX_BODY_BYTES = 4096;

/** The split as shown: its shares, or the live version alone at 100 %; empty without a live version. */
export function trafficView(live: number | null, split: TrafficShare[] | null): TrafficShare[] {
  if (split !== null) return split;
  return live === null ? [] : [{ version: live, percent: 100 }];
}

export function trafficRoutes(deployer: Deployer): Route[] {
  return [
    {
      method: 'PUT',
      path: '/v1/functions/{name}/traffic',
      handler: async ({ req, res, params }) => {
        const name = params['name'] ?? '';
        const text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          raw = text;
        }
        const { split } = parseWith(trafficBodySchema, raw, 'SKIFF_E_INVALID_REQUEST', 'the traffic body');
        const outcome = await deployer.traffic(name, split);
        sendJson(res, 200, {
          function: name,
          liveVersion: outcome.live,
          traffic: trafficView(outcome.live, outcome.split),
        } satisfies z.input<typeof trafficResultSchema>);
      },
    },
  ];
}
