/**
 * Attacks on the control port: the tinyFaaS management API without a token (loopback is no credential),
 * a web page's cross-site POST (CSRF), a page whose name was rebound to 127.0.0.1 (a foreign Host), and
 * `/uploadURL` pointed at this machine (SSRF), directly or through a redirect.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { exited, spawnServe } from '../helpers/serve-process.js';
import { errorCode as code, send, witness } from '../helpers/witness.js';

let work: string;
let zip: string;
const uploadBody = (name: string) => JSON.stringify({ name, env: 'binary', threads: 1, zip });

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await writeFile(path.join(work, 'fn.sh'), '#!/bin/sh\ncat\n', { mode: 0o755 });
  zip = execFileSync('sh', ['-c', "zip -q -r - ./fn.sh | base64 | tr -d '\\n'"], { cwd: work }).toString();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const quiet = { executor: { warmPool: { node: 0, python: 0 } } };

describe('tinyFaaS management API by default', () => {
  let p: TestPlatform;
  let port: string;
  const auth = () => ({ authorization: `Bearer ${p.token}` });
  const names = async () =>
    ((await (await p.api('/v1/functions')).json()) as { functions: { name: string }[] }).functions.map(
      (f) => f.name,
    );

  beforeAll(async () => {
    p = await startPlatform({ config: { ...quiet, compat: { tinyfaas: { enabled: true } } } });
    port = new URL(p.controlUrl).port;
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('refuses /upload from loopback without a token (401) and deploys it with the admin token', async () => {
    const refused = await send(`${p.controlUrl}/upload`, { method: 'POST', body: uploadBody('notoken') });
    expect(refused.status).toBe(401);
    expect(code(refused)).toBe('SKIFF_E_UNAUTHORIZED');
    expect(await names()).not.toContain('notoken');
    const wrong = await send(`${p.controlUrl}/upload`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-token' },
      body: uploadBody('notoken'),
    });
    expect(wrong.status).toBe(401);
    const ok = await send(`${p.controlUrl}/upload`, {
      method: 'POST',
      headers: auth(),
      body: uploadBody('withtoken'),
    });
    expect(ok.status, ok.body).toBe(200);
    expect((await p.call('/withtoken', { method: 'POST', body: 'hi' })).status).toBe(200);
  });

  it('refuses every management path without a token and changes nothing', async () => {
    const before = await names();
    expect(before).toContain('withtoken');
    for (const [method, route, body] of [
      ['GET', '/list', undefined],
      ['GET', '/logs', undefined],
      ['GET', '/logs?name=withtoken', undefined],
      ['POST', '/delete', '{"name":"withtoken"}'],
      ['POST', '/wipe', ''],
      ['POST', '/uploadURL', JSON.stringify({ name: 'x', env: 'binary', url: 'http://127.0.0.1:1/' })],
    ] as const) {
      const res = await send(`${p.controlUrl}${route}`, { method, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${route}`).toBe(401);
    }
    expect(await names()).toEqual(before);
  });

  it('refuses a cross-site text/plain POST with 403 even when it carries the token', async () => {
    const res = await send(`${p.controlUrl}/upload`, {
      method: 'POST',
      headers: { ...auth(), origin: 'http://evil.example', 'content-type': 'text/plain' },
      body: uploadBody('csrf'),
    });
    expect(res.status).toBe(403);
    expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
    expect(await names()).not.toContain('csrf');
  });

  it('refuses /uploadURL to addresses of this machine; the server there sees no request', async () => {
    const local = await witness((res) => res.writeHead(200).end('PK'));
    try {
      const targets = [
        `http://127.0.0.1:${local.port}/x.zip`,
        `http://localhost:${local.port}/x.zip`,
        `http://[::1]:${local.port}/x.zip`,
        `http://[::ffff:127.0.0.1]:${local.port}/x.zip`,
        `http://2130706433:${local.port}/x.zip`,
        `http://127.1:${local.port}/x.zip`,
        `http://0.0.0.0:${local.port}/x.zip`,
        `http://169.254.169.254/latest/meta-data/`,
        `http://10.0.0.1/x.zip`,
      ];
      for (const url of targets) {
        const res = await send(`${p.controlUrl}/uploadURL`, {
          method: 'POST',
          headers: auth(),
          body: JSON.stringify({ name: 'ssrf', env: 'binary', threads: 1, url, subfolder_path: '' }),
        });
        expect(res.status, url).toBe(400);
        expect(code(res), url).toBe('SKIFF_E_FORBIDDEN_DESTINATION');
      }
      // a name is checked on what DNS gives (here it may also not resolve at all): never fetched
      for (const url of [`http://localhost.:${local.port}/x.zip`, `http://${os.hostname()}:${local.port}/`]) {
        const res = await send(`${p.controlUrl}/uploadURL`, {
          method: 'POST',
          headers: auth(),
          body: JSON.stringify({ name: 'ssrf', env: 'binary', threads: 1, url }),
        });
        expect(res.status, url).not.toBe(200);
      }
      expect(local.hits).toEqual([]);
      expect(await names()).not.toContain('ssrf');
    } finally {
      await local.close();
    }
  });

  it('refuses a foreign Origin or Host on the /v1 API even with the admin token', async () => {
    const url = `${p.controlUrl}/v1/functions`;
    expect((await send(url, { headers: auth() })).status).toBe(200);
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${Number(port) + 1}` },
      { host: `evil.example:${port}` },
      { host: `localhost.:${port}` },
      { host: `127.0.0.1:${Number(port) + 1}` },
      { host: 'evil.example' },
    ]) {
      const res = await send(url, { headers: { ...auth(), ...headers } });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
    }
    for (const headers of [
      { host: `localhost:${port}` },
      { host: `[::1]:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
    ]) {
      expect((await send(url, { headers: { ...auth(), ...headers } })).status, JSON.stringify(headers)).toBe(
        200,
      );
    }
  });
});

describe('tinyFaaS management API trusting loopback (opt-in)', () => {
  let p: TestPlatform;
  let port: string;
  const list = async () => (await send(`${p.controlUrl}/list`)).body.split('\n');

  beforeAll(async () => {
    p = await startPlatform({
      config: {
        ...quiet,
        compat: { tinyfaas: { enabled: true, trustLoopback: true } },
        outbound: { allowPrivate: true },
        build: { maxUploadBytes: 1024 * 1024 },
      },
    });
    port = new URL(p.controlUrl).port;
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  it("accepts upstream's tokenless upload from loopback", async () => {
    const res = await send(`${p.controlUrl}/upload`, { method: 'POST', body: uploadBody('trusted') });
    expect(res.status, res.body).toBe(200);
    expect(await list()).toContain('trusted');
    // function output (logs) is never sniffed into a page served at the API's own origin
    const logs = await send(`${p.controlUrl}/logs`);
    expect(logs.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a cross-site POST (Origin http://evil.example, text/plain) with 403 and deploys nothing', async () => {
    for (const route of ['/upload', '/wipe', '/delete']) {
      const res = await send(`${p.controlUrl}${route}`, {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'content-type': 'text/plain' },
        body: route === '/upload' ? uploadBody('csrf') : '{"name":"trusted"}',
      });
      expect(res.status, route).toBe(403);
      expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
    }
    // a form POST from a function's page on this machine's gateway is cross-site too
    const form = await send(`${p.controlUrl}/upload`, {
      method: 'POST',
      headers: { origin: p.httpUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: uploadBody('csrf'),
    });
    expect(form.status).toBe(403);
    expect(await list()).toContain('trusted');
    expect(await list()).not.toContain('csrf');
  });

  it('refuses a request with a foreign Host (DNS rebinding) with 403', async () => {
    for (const [method, route] of [
      ['POST', '/upload'],
      ['GET', '/list'],
      ['GET', '/logs'],
      ['POST', '/wipe'],
    ] as const) {
      const res = await send(`${p.controlUrl}${route}`, {
        method,
        headers: { host: `evil.example:${port}` },
        body: method === 'POST' ? uploadBody('rebound') : '',
      });
      expect(res.status, route).toBe(403);
      expect(code(res)).toBe('SKIFF_E_FORBIDDEN');
    }
    expect(await list()).toContain('trusted');
    expect(await list()).not.toContain('rebound');
  });

  it('/uploadURL follows no redirect: a 302 to this machine fails and its target is not hit', async () => {
    const target = await witness((res) => res.writeHead(200).end('PK'));
    const redirect = await witness((res) =>
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/x.zip` }).end(),
    );
    try {
      const res = await send(`${p.controlUrl}/uploadURL`, {
        method: 'POST',
        body: JSON.stringify({
          name: 'redirected',
          env: 'binary',
          threads: 1,
          url: `http://127.0.0.1:${redirect.port}/start.zip`,
        }),
      });
      expect(res.status).toBe(500);
      expect(res.body).toMatch(/302/);
      expect(redirect.hits).toEqual(['GET /start.zip']);
      expect(target.hits).toEqual([]);
      expect(await list()).not.toContain('redirected');
    } finally {
      await Promise.all([target.close(), redirect.close()]);
    }
  });

  it('caps the /uploadURL download at build.maxUploadBytes', async () => {
    const limit = p.server.config.build.maxUploadBytes;
    const big = await witness((res) => {
      res.writeHead(200, { 'content-type': 'application/zip' });
      // one chunk past the limit, written in pieces; the platform must stop reading
      const piece = Buffer.alloc(64 * 1024);
      let sent = 0;
      const more = (): void => {
        while (sent <= limit) {
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => undefined);
      more();
    });
    try {
      const res = await send(`${p.controlUrl}/uploadURL`, {
        method: 'POST',
        body: JSON.stringify({
          name: 'toobig',
          env: 'binary',
          threads: 1,
          url: `http://127.0.0.1:${big.port}/big.zip`,
        }),
      });
      expect(res.status).toBe(500);
      expect(res.body).toMatch(/larger than/);
    } finally {
      await big.close();
    }
  });
});

describe('skiff serve --tinyfaas-trust-loopback', () => {
  it('turns on the trust model and warns at start; --tinyfaas alone asks for the token', async () => {
    for (const trust of [true, false]) {
      const dataDir = await makeDataDir();
      const serve = await spawnServe(dataDir, {
        args: ['--tinyfaas', '--log-level', 'warn', ...(trust ? ['--tinyfaas-trust-loopback'] : [])],
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const up = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start line within 20 s:\n${out}`)), 20_000);
        const take = (c: Buffer): void => {
          out += c.toString();
          if (out.includes('Press Ctrl+C to stop.')) {
            clearTimeout(timer);
            resolve();
          }
        };
        serve.child.stdout?.on('data', take);
        serve.child.stderr?.on('data', take);
      });
      try {
        await up;
        const list = await send(`${serve.control}/list`);
        expect(list.status).toBe(trust ? 200 : 401);
        const withToken = await send(`${serve.control}/list`, {
          headers: { authorization: `Bearer ${serve.token}` },
        });
        expect(withToken.status).toBe(200);
        // the platform log's warning, and the CLI's line for people
        if (trust) {
          expect(out).toMatch(/trusts loopback/);
          expect(out).toMatch(/⚠ tinyFaaS management API without token/);
        } else expect(out).not.toMatch(/trusts loopback|⚠/);
      } finally {
        serve.child.kill('SIGTERM');
        await exited(serve.child);
        await removeDir(dataDir);
      }
    }
  }, 60_000);
});
