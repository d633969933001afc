/**
 * Several dialects on one platform (src/compat/dialect.ts): one under a path prefix of the function port
 * beside Skiff's rules, one on a gateway port of its own with its own listener, each with a management
 * route on the control port; the compiled-in tinyFaaS dialect stays off.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DIALECTS, type Dialect, type Dialects } from '../src/compat/index.js';
import type { GatewayRules } from '../src/triggers/gateway-rules.js';
import { SKIFF_RULES } from '../src/triggers/skiff-rules.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const section = z
  .object({ enabled: z.boolean().default(false) })
  .strict()
  .prefault({});

/** Rules that tag the result and answer failures with 418 text: visibly not Skiff's. */
function tagged(tag: string): GatewayRules {
  return {
    ...SKIFF_RULES,
    result: (result) => ({ ...result, headers: [...result.headers, ['x-dialect', tag]] }),
    failure(res, error) {
      res.writeHead(418, { 'content-type': 'text/plain' }).end(`${tag}: ${error.code}`);
      return true;
    },
  };
}

const pre: Dialect = {
  name: 'pre',
  config: { schema: section },
  flavors: [],
  enable: () => ({
    gateway: { rules: tagged('pre'), mount: { on: 'prefix', prefix: '/pre' } },
    management: {
      prefix: '/pre-admin',
      handler: async (req, res) => {
        if (req.url !== '/ping') return false;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('pong');
        return true;
      },
    },
    notes: ['pre dialect on'],
  }),
};

const own: Dialect = {
  name: 'own',
  config: { schema: section },
  flavors: [],
  enable: () => ({
    gateway: {
      rules: tagged('own'),
      mount: { on: 'own-port', name: 'own-http', host: '127.0.0.1', port: 0 },
    },
    listeners: {
      hello: async () => {
        const server = createServer((_req, res) => res.end('hello from own'));
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const { port } = server.address() as AddressInfo;
        return {
          endpoint: { name: 'own-hello', url: `http://127.0.0.1:${port}` },
          stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
        };
      },
    },
  }),
};

describe('several dialects on one platform', () => {
  let p: TestPlatform;
  const dialects: Dialects = { ...DIALECTS, pre, own };

  beforeAll(async () => {
    p = await startPlatform({
      dialects,
      config: { compat: { pre: { enabled: true }, own: { enabled: true } } },
    });
    await p.deployAll({ echo: 'echo-cjs' });
  }, 60_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('keeps Skiff’s rules on the function port outside the prefix', async () => {
    const res = await p.call('/echo/a?x=1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-dialect')).toBeNull();
    expect(await res.json()).toMatchObject({ path: '/a', query: '?x=1' });
    const missing = await p.call('/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'SKIFF_E_FUNCTION_NOT_FOUND',
    );
  });

  it('applies a dialect’s rules under its prefix, the prefix taken off', async () => {
    const res = await p.call('/pre/echo/a?x=1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-dialect')).toBe('pre');
    expect(await res.json()).toMatchObject({ path: '/a', query: '?x=1' });
    const missing = await p.call('/pre/nope');
    expect(missing.status).toBe(418);
    expect(await missing.text()).toBe('pre: SKIFF_E_FUNCTION_NOT_FOUND');
  });

  it('serves another dialect’s rules on its own port, and its own listener', async () => {
    const url = p.server.endpoints['own-http'] as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe(p.httpUrl);
    const res = await fetch(`${url}/echo`);
    expect(res.headers.get('x-dialect')).toBe('own');
    expect(await (await fetch(`${url}/nope`)).text()).toBe('own: SKIFF_E_FUNCTION_NOT_FOUND');
    const hello = p.server.endpoints['own-hello'] as string;
    expect(await (await fetch(hello)).text()).toBe('hello from own');
  });

  it('mounts management routes under their prefix, and gives start-up notes', async () => {
    expect(await (await p.api('/pre-admin/ping')).text()).toBe('pong');
    expect((await p.api('/ping')).status).toBe(404);
    expect(p.server.notes).toContain('pre dialect on');
    // tinyFaaS is compiled in but off: its management API is not there
    expect((await p.api('/list')).status).toBe(404);
  });
});
