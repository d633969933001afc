/** The status route's and the probes' part of the OpenAPI document (openapi.ts spreads it into `paths`). */
import { schemaRef, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const json = (name: SchemaName) => ({ 'application/json': { schema: schemaRef(name) } }) as const;

export const statusPaths = {
  '/v1/status': {
    get: {
      operationId: 'getStatus',
      tags: ['meta'],
      summary: 'The platform as a whole (what `skiff status` shows)',
      description:
        'Version, uptime, readiness, listeners, functions, instances by state, the executor queue and the ' +
        'asynchronous backlog, and the space left on the data directory’s filesystem.',
      responses: {
        '200': { description: 'The status.', content: json('Status') },
        '401': ref('Unauthorized'),
      },
    },
  },
  '/v1/health/live': {
    get: {
      operationId: 'getLiveness',
      tags: ['meta'],
      summary: 'Liveness probe: 200 as long as the platform’s event loop answers',
      security: [],
      responses: { '200': { description: 'The platform is live.', content: json('Liveness') } },
    },
  },
  '/v1/health/ready': {
    get: {
      operationId: 'getReadiness',
      tags: ['meta'],
      summary: 'Readiness probe: 200 once started, 503 while starting or draining',
      description:
        'The same answer as `/_skiff/health/ready` on the function port. 503 while the platform starts ' +
        '(listeners, triggers, the minimum instances of functions) and from the moment a stop begins.',
      security: [],
      responses: {
        '200': { description: 'Ready.', content: json('Readiness') },
        '503': { description: 'Starting or draining, with a reason.', content: json('Readiness') },
      },
    },
  },
};
