/**
 * `GET /metrics`'s part of the OpenAPI document (openapi.ts spreads it into `paths`): the Prometheus
 * text exposition (metrics.ts; docs/operations.md lists the metrics).
 */
const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;

export const metricsPaths = {
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      tags: ['meta'],
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      description:
        'Takes the admin token or the read-only metrics token (`control.metricsToken`, `SKIFF_METRICS_TOKEN`) as a ' +
        'bearer token; no token when `control.metricsPublic` is true. Labels are function names, trigger kinds and ' +
        'fixed reasons only; at most 2000 series per metric, then `function="_other"`.',
      responses: {
        '200': {
          description: 'The metrics.',
          content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
        },
        '401': ref('Unauthorized'),
      },
    },
  },
} as const;
