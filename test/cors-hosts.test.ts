/**
 * skiff.json `cors` and `routes` on the real platform, over real HTTP (node:http, which sends the Host
 * and Origin given): preflights answered by the gateway without the function, CORS headers on the
 * function's answers and on the gateway's errors, OPTIONS passed through without `cors`, Host routing
 * (exact, wildcard, private functions, misses) and one host per function.
 */
import { request } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { TMP_PREFIX } from './helpers/tmp.js';

/** Counts its calls (one instance) and answers what it saw; `?own=1` sets its own CORS headers. */
const CODE = `let calls = 0;
export default async (request) => {
  calls += 1;
  const url = new URL(request.url);
  const headers = { 'content-type': 'application/json' };
  if (url.searchParams.has('own')) {
    headers['access-control-allow-origin'] = 'https://own.example';
    headers['access-control-allow-credentials'] = 'true';
    headers['x-own'] = 'mine';
  }
  const body = { calls, method: request.method, path: url.pathname, query: url.search };
  return new Response(JSON.stringify(body), { headers });
};
`;

async function functionDir(spec: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await writeFile(path.join(dir, 'index.mjs'), CODE);
  await writeFile(
    path.join(dir, 'skiff.json'),
    JSON.stringify({ runtime: 'node', scaling: { maxInstances: 1 }, ...spec }),
  );
  return dir;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the gateway with exactly these headers (Host included). */
function send(
  base: string,
  method: string,
  route: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: route, headers, setHost: !('host' in headers) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const json = (a: Answer) => JSON.parse(a.body) as Record<string, unknown>;
const code = (a: Answer) => (json(a)['error'] as { code: string }).code;
const APP = 'https://app.example.com';

describe('cors and host routes', () => {
  let p: TestPlatform;
  const dirs: string[] = [];
  const deploy = async (name: string, spec: Record<string, unknown>) => {
    const dir = await functionDir(spec);
    dirs.push(dir);
    return p.deploy(name, dir);
  };
  const call = (method: string, route: string, headers: Record<string, string> = {}) =>
    send(p.httpUrl, method, route, headers);
  /** The function's call count, read with a plain GET (no Origin). */
  const calls = async (name: string) => json(await call('GET', `/${name}`))['calls'] as number;

  beforeAll(async () => {
    p = await startPlatform();
    const specs: Record<string, Record<string, unknown>> = {
      plain: {},
      web: {
        cors: {
          origins: [APP, 'HTTP://LOCALHOST:5173', 'https://secure.example.com:443'],
          methods: ['GET', 'POST', 'PUT'],
          allowHeaders: ['Content-Type', 'X-Token'],
          exposeHeaders: ['X-Own'],
          credentials: true,
          maxAge: 600,
        },
        routes: [{ host: 'API.example.com' }],
      },
      star: { cors: { origins: ['*'] }, routes: [{ host: '*.apps.example.com' }] },
      secret: {
        access: { private: true },
        cors: { origins: [APP] },
        routes: [{ host: 'secret.example.com' }],
      },
    };
    for (const [name, spec] of Object.entries(specs)) {
      const res = await deploy(name, spec);
      expect(res.status, await res.text()).toBe(201);
    }
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('answers an allowed preflight itself: 204, the origin echoed, the function not called', async () => {
    const before = await calls('web');
    const res = await call('OPTIONS', '/web/items', {
      origin: APP,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'Content-Type, X-Token',
    });
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['vary']).toBe('Origin');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT');
    expect(res.headers['access-control-allow-headers']).toBe('content-type, x-token');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['x-skiff-invocation-id']).toMatch(/^[0-9a-f-]{36}$/);
    // origins are matched as browsers send them: lower case, without the default port
    for (const origin of ['http://localhost:5173', 'https://secure.example.com']) {
      const other = await call('OPTIONS', '/web', { origin, 'access-control-request-method': 'GET' });
      expect(other.status).toBe(204);
      expect(other.headers['access-control-allow-origin']).toBe(origin);
    }
    expect(await calls('web')).toBe(before + 1);
  });

  it('refuses a preflight for another origin, method or header: 403 without CORS headers', async () => {
    const before = await calls('web');
    const asks: Record<string, string>[] = [
      { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      { origin: `${APP}.evil.example`, 'access-control-request-method': 'GET' },
      { origin: 'null', 'access-control-request-method': 'GET' },
      { origin: APP, 'access-control-request-method': 'DELETE' },
      { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-other' },
      // hostile: a huge Origin, and a header list that is no list of names
      { origin: `https://${'a'.repeat(8000)}.example`, 'access-control-request-method': 'GET' },
      { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'a b' },
    ];
    for (const headers of asks) {
      const res = await call('OPTIONS', '/web/items', headers);
      expect(res.status, JSON.stringify(headers).slice(0, 200)).toBe(403);
      expect(code(res)).toBe('SKIFF_E_CORS_REFUSED');
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      expect(res.headers['vary']).toBe('Origin');
    }
    expect(await calls('web')).toBe(before + 1);
  });

  it("puts the gateway's CORS headers on the function's answers, in place of its own", async () => {
    const allowed = await call('GET', '/web/items?own=1', { origin: APP });
    expect(allowed.status).toBe(200);
    expect(json(allowed)).toMatchObject({ method: 'GET', path: '/items', query: '?own=1' });
    expect(allowed.headers['access-control-allow-origin']).toBe(APP);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    expect(allowed.headers['access-control-expose-headers']).toBe('X-Own');
    expect(allowed.headers['vary']).toBe('Origin');
    expect(allowed.headers['x-own']).toBe('mine');
    // an origin not allowed still reaches the function, but its page cannot read the answer
    const other = await call('POST', '/web/items?own=1', { origin: 'https://own.example' });
    expect(other.status).toBe(200);
    expect(json(other)['method']).toBe('POST');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-allow-credentials']).toBeUndefined();
    expect(other.headers['vary']).toBe('Origin');
  });

  it('answers "*" without credentials and allows the headers a preflight asks for', async () => {
    const pre = await call('OPTIONS', '/star', {
      origin: 'https://anyone.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-custom,content-type',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toBe('x-custom, content-type');
    expect(pre.headers['vary']).toBe('Origin, Access-Control-Request-Headers');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const res = await call('GET', '/star', { origin: 'https://anyone.example' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('passes OPTIONS to a function without cors, and adds no CORS header', async () => {
    const res = await call('OPTIONS', '/plain/a/b?x=1', {
      origin: APP,
      'access-control-request-method': 'PUT',
    });
    expect(res.status).toBe(200);
    expect(json(res)).toMatchObject({ method: 'OPTIONS', path: '/a/b', query: '?x=1' });
    const own = await call('GET', '/plain/?own=1', { origin: APP });
    expect(own.headers['access-control-allow-origin']).toBe('https://own.example');
    expect(own.headers['vary']).toBeUndefined();
  });

  it("answers a private function's preflight, and its refusal carries CORS headers", async () => {
    const pre = await call('OPTIONS', '/secret', { origin: APP, 'access-control-request-method': 'GET' });
    expect(pre.status).toBe(204);
    const res = await call('GET', '/secret', { origin: APP });
    expect(res.status).toBe(403);
    expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
    expect(res.headers['access-control-allow-origin']).toBe(APP);
  });

  it('routes a request by its Host to the function at the root', async () => {
    for (const host of ['api.example.com', 'API.Example.COM:8443', 'api.example.com.']) {
      const res = await call('GET', '/items/7?x=1', { host });
      expect(res.status, host).toBe(200);
      expect(json(res)).toMatchObject({ path: '/items/7', query: '?x=1' });
    }
    // CORS of the routed function holds there too
    const pre = await call('OPTIONS', '/', {
      host: 'api.example.com',
      origin: APP,
      'access-control-request-method': 'POST',
    });
    expect(pre.status).toBe(204);
    // one label under a wildcard; not two, not the domain itself
    const star = await call('GET', '/x', { host: 'one.apps.example.com' });
    expect(json(star)).toMatchObject({ path: '/x' });
    for (const host of ['a.b.apps.example.com', 'apps.example.com', 'elsewhere.example.com', '127.0.0.1']) {
      const miss = await call('GET', '/plain/by-name', { host });
      expect(miss.status, host).toBe(200);
      expect(json(miss)).toMatchObject({ path: '/by-name' });
    }
  });

  it('does not open a private function through its host', async () => {
    const res = await call('GET', '/', { host: 'secret.example.com' });
    expect(res.status).toBe(403);
    expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
  });

  it('refuses a second function claiming a host, naming the holder', async () => {
    const res = await deploy('thief', { routes: [{ host: 'api.EXAMPLE.com' }] });
    expect(res.status).toBe(409);
    const { error } = (await res.json()) as { error: { code: string; message: string; details: unknown } };
    expect(error.code).toBe('SKIFF_E_HOST_TAKEN');
    expect(error.message).toContain('web');
    expect(error.details).toEqual({ host: 'api.example.com', function: 'web' });
    // nothing of it was kept, and the host still reaches its holder
    expect((await p.api('/v1/functions/thief')).status).toBe(404);
    const routed = await call('GET', '/', { host: 'api.example.com' });
    expect(json(routed)).toMatchObject({ path: '/' });
    const wild = await deploy('thief', { routes: [{ host: '*.apps.example.com' }] });
    expect(wild.status).toBe(409);
    // a host free again after its function is deleted
    const own = await deploy('thief', { routes: [{ host: 'gateway.example.com' }] });
    expect(own.status, await own.text()).toBe(201);
    const taken = await call('GET', '/plain/x', { host: 'gateway.example.com' });
    expect(json(taken)).toMatchObject({ path: '/plain/x' });
    const del = await p.api('/v1/functions/thief', { method: 'DELETE' });
    expect(del.status).toBeLessThan(300);
    const gone = await call('GET', '/plain/x', { host: 'gateway.example.com' });
    expect(json(gone)).toMatchObject({ path: '/x' });
  });

  it('refuses a rollback to a version whose host another function took since', async () => {
    expect((await deploy('hopper', { routes: [{ host: 'hop.example.com' }] })).status).toBe(201);
    expect((await deploy('hopper', {})).status).toBe(200);
    expect((await deploy('taker', { routes: [{ host: 'hop.example.com' }] })).status).toBe(201);
    const back = await p.api('/v1/functions/hopper/rollback', { method: 'POST', body: '{"version":1}' });
    expect(back.status).toBe(409);
    const { error } = (await back.json()) as { error: { code: string; details: unknown } };
    expect(error).toMatchObject({ code: 'SKIFF_E_HOST_TAKEN', details: { function: 'taker' } });
    const fn = (await (await p.api('/v1/functions/hopper')).json()) as { function: { liveVersion: number } };
    expect(fn.function.liveVersion).toBe(2);
    const routed = await call('GET', '/r', { host: 'hop.example.com' });
    expect(json(routed)).toMatchObject({ path: '/r' });
    expect((await p.api('/v1/functions/taker')).status).toBe(200);
  });

  it('refuses a spec with a wrong cors or route, saying what to fix', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ cors: { origins: ['*'], credentials: true } }, 'credentials: true cannot go with origin "*"'],
      [{ cors: { origins: ['https://app.example.com/'] } }, 'scheme://host[:port]'],
      [{ cors: { origins: ['https://a.example\r\nx-evil: 1'] } }, 'scheme://host[:port]'],
      [{ cors: { origins: ['*', APP] } }, 'give it alone'],
      [{ routes: [{ host: 'localhost' }] }, 'DNS name of two or more labels'],
      [{ routes: [{ host: 'app.localhost' }] }, "localhost names are the platform's own"],
      [{ routes: [{ host: '10.0.0.1' }] }, 'no IP address'],
      [{ routes: [{ host: 'api.example.com', path: '/v1' }] }, 'path'],
    ];
    for (const [spec, text] of cases) {
      const res = await deploy('badspec', spec);
      expect(res.status, JSON.stringify(spec)).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(error.message).toContain(text);
    }
  });
});
