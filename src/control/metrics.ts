import { SkiffError } from '../shared/errors.js';
import type { Route } from './app.js';
import { createTokenTest } from './auth.js';

/** Who may read `GET /metrics`: the admin token, the metrics token when set, or anyone when public. */
export interface MetricsAccess {
  adminToken: string;
  /** `control.metricsToken` (or SKIFF_METRICS_TOKEN): read-only, for a Prometheus server. */
  metricsToken: string | null;
  /** `control.metricsPublic`: no token asked (for a control listener only trusted hosts reach). */
  public: boolean;
}

/**
 * `GET /metrics`: the Prometheus text exposition. Its own check takes the admin token or the read-only
 * metrics token (the app asks for no other); none when `control.metricsPublic`.
 */
export function metricsRoutes(
  render: () => Promise<{ contentType: string; body: string }>,
  access: MetricsAccess,
): Route[] {
  const isAdmin = createTokenTest(access.adminToken);
  const token = access.metricsToken;
  const isMetrics = token === null ? () => false : createTokenTest(token);
  return [
    {
      method: 'GET',
      path: '/metrics',
      public: access.public,
      authorize: (header) => {
        if (isAdmin(header) || isMetrics(header)) return;
        throw new SkiffError(
          'SKIFF_E_UNAUTHORIZED',
          header === undefined
            ? 'missing bearer token: send `Authorization: Bearer <admin token or control.metricsToken>`'
            : 'wrong token: /metrics takes the admin token or control.metricsToken',
        );
      },
      handler: async ({ res }) => {
        const { contentType, body } = await render();
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
    },
  ];
}
