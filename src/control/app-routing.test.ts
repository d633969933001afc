/**
 * The control app in memory (no port, no process): auth, public routes, unknown routes and methods,
 * the request guard and connection handling. The routes themselves are in functions.test.ts & co.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse } from '../../test/helpers/in-memory-http.js';

let kit: ControlKit;
beforeAll(() => {
  kit = controlKit();
});
afterAll(() => kit.close());

const errorOf = (res: InMemoryResponse) => res.json<{ error: { code: string; message: string } }>().error;

describe('control API auth', () => {
  it('refuses a request without a token with 401 SKIFF_E_UNAUTHORIZED, naming the header to send', async () => {
    const res = await kit.request({ path: '/v1/functions', auth: false });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/json');
    expect(errorOf(res).code).toBe('SKIFF_E_UNAUTHORIZED');
    expect(errorOf(res).message).toMatch(/Authorization: Bearer/);
  });

  it('refuses a wrong token, and a token without the Bearer scheme', async () => {
    for (const authorization of ['Bearer not-the-token', ADMIN_TOKEN, `Basic ${ADMIN_TOKEN}`]) {
      const res = await kit.request({ path: '/v1/functions', auth: false, headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(errorOf(res).code).toBe('SKIFF_E_UNAUTHORIZED');
    }
  });

  it('accepts the token, with the scheme in any case', async () => {
    const res = await kit.request({
      path: '/v1/functions',
      auth: false,
      headers: { authorization: `bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ functions: [] });
  });

  it('serves the public routes without a token, and closes those connections', async () => {
    const health = await kit.request({ path: '/v1/health', auth: false });
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    expect(health.headers.connection).toBe('close');
    const openapi = await kit.request({ path: '/v1/openapi.json', auth: false });
    expect(openapi.status).toBe(200);
    expect(openapi.json()).toHaveProperty('openapi');
  });

  it('keeps the connection of a request that carries the token', async () => {
    const res = await kit.request({ path: '/v1/health' });
    expect(res.headers.connection).not.toBe('close');
  });

  it('does not tell a stranger which routes exist: an unknown route without a token is 401', async () => {
    const res = await kit.request({ path: '/v1/nothing-here', auth: false });
    expect(res.status).toBe(401);
  });
});

describe('control API routing', () => {
  it('answers an unknown route with 404 SKIFF_E_NOT_FOUND, pointing at the API description', async () => {
    const res = await kit.request({ path: '/v1/nothing-here' });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_NOT_FOUND');
    expect(errorOf(res).message).toMatch(/openapi\.json/);
  });

  it('answers a known path with a wrong method with 405 SKIFF_E_METHOD_NOT_ALLOWED, naming the methods', async () => {
    const res = await kit.request({ method: 'POST', path: '/v1/functions' });
    expect(res.status).toBe(405);
    expect(errorOf(res).code).toBe('SKIFF_E_METHOD_NOT_ALLOWED');
    expect(errorOf(res).message).toMatch(/use GET$/);
    const scaling = await kit.request({ method: 'GET', path: '/v1/functions/f/scaling' });
    expect(scaling.status).toBe(405);
    expect(errorOf(scaling).message).toMatch(/PATCH, DELETE/);
  });

  it('a wrong method on a public path still needs the token', async () => {
    const res = await kit.request({ method: 'DELETE', path: '/v1/health', auth: false });
    expect(res.status).toBe(401);
  });

  it('refuses malformed percent-encoding in a path parameter with 400 SKIFF_E_INVALID_REQUEST', async () => {
    const res = await kit.request({ path: '/v1/functions/%E0%A4%A' });
    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('SKIFF_E_INVALID_REQUEST');
  });

  it('refuses a request from a web page (a foreign Origin) with 403 before anything else', async () => {
    const res = await kit.request({ path: '/v1/functions', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('SKIFF_E_FORBIDDEN');
  });

  it('lists the warm pool and the instance budget on /v1/executor', async () => {
    const res = await kit.request({ path: '/v1/executor' });
    expect(res.json()).toEqual({
      warmPool: { node: 1 },
      budget: { memoryMb: 1024, instances: 8, usedMemoryMb: 256, usedInstances: 1, waiting: 0 },
    });
  });
});
