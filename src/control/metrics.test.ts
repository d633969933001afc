/**
 * `GET /metrics`'s access rules, on the control app in memory (test/metrics.test.ts scrapes the real
 * platform): the admin token, the read-only metrics token, `control.metricsPublic`.
 */
import { describe, expect, it } from 'vitest';
import { inMemoryClient } from '../../test/helpers/in-memory-http.js';
import { createLogger } from '../shared/logger.js';
import { createControlApp } from './app.js';
import { metaRoutes } from './meta.js';
import { metricsRoutes, type MetricsAccess } from './metrics.js';
import { createRequestGuard } from './request-guard.js';

const ADMIN = 'admin-token-0123456789';
const METRICS = 'metrics-token-0123456789';

function client(access: Omit<MetricsAccess, 'adminToken'>) {
  const render = async () => ({ contentType: 'text/plain; version=0.0.4', body: 'skiff_up 1\n' });
  const app = createControlApp(
    [...metaRoutes({} as never), ...metricsRoutes(render, { adminToken: ADMIN, ...access })],
    ADMIN,
    createLogger('silent'),
    [],
    createRequestGuard({ listenHost: '127.0.0.1', allowedHosts: [] }),
  );
  const { request } = inMemoryClient(app);
  return (path: string, token?: string) =>
    request({ path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

describe('GET /metrics access', () => {
  it('takes the admin token or the metrics token; the metrics token opens nothing else', async () => {
    const get = client({ metricsToken: METRICS, public: false });
    expect((await get('/metrics', ADMIN)).text).toBe('skiff_up 1\n');
    expect((await get('/metrics', METRICS)).status).toBe(200);
    for (const token of [undefined, 'wrong', `${METRICS}x`]) {
      const res = await get('/metrics', token);
      expect(res.status, token).toBe(401);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('SKIFF_E_UNAUTHORIZED');
    }
    expect((await get('/v1/limits', METRICS)).status).toBe(401);
  });

  it('without a metrics token configured, only the admin token', async () => {
    const get = client({ metricsToken: null, public: false });
    expect((await get('/metrics', ADMIN)).status).toBe(200);
    expect((await get('/metrics', 'null')).status).toBe(401);
  });

  it('with control.metricsPublic, without a token, and only /metrics', async () => {
    const get = client({ metricsToken: null, public: true });
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/v1/limits')).status).toBe(401);
  });
});
