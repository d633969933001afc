/**
 * Scaleway's HTTP rules for functions of flavor scaleway, on Skiff's gateway (docs/compat/scaleway.md):
 * the proxy's headers, CORS and `server: envoy`, the 413 text, favicon and robots, SCW_TRIGGER_TYPE,
 * cron args as a JSON POST, one request per instance, reserved SCW_ variables and private functions
 * answered in Scaleway's words. Acceptance points of the Scaleway contract: 10-13, 18-22, 24.
 */
import http from 'node:http';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A raw request that announces a body it never sends (Content-Length only). */
function announce(
  url: string,
  length: number,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-length': String(length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('Scaleway HTTP rules', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  /** Deploys a copy of the scw-http fixture with `spec` merged into its skiff.json. */
  const deployWith = async (name: string, spec: Record<string, unknown>): Promise<Response> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-scw-'));
    dirs.push(dir);
    await cp(fixture('scw-http'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'skiff.json'),
      JSON.stringify({ runtime: 'node', flavor: 'scaleway', ...spec }),
    );
    return p.deploy(name, dir);
  };

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ scw: 'scw-http' });
  }, 60_000);

  afterAll(async () => {
    await p.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('10: adds the proxy headers to the event and answers with server: envoy', async () => {
    const res = await p.call('/scw/headers', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('server')).toBe('envoy');
    const headers = (await res.json()) as Record<string, string>;
    expect(headers['K-Proxy-Request']).toBe('activator');
    expect(headers['Forwarded']).toMatch(/^for=127\.0\.0\.1;proto=http$/);
    expect(headers['X-Forwarded-Proto']).toBe('http');
    expect(headers['X-Forwarded-For']).toBe('203.0.113.9, 127.0.0.1');
    expect(headers['X-Envoy-External-Address']).toBe('127.0.0.1');
    expect(headers['X-Request-Id']).toMatch(UUID);
  });

  it("11: CORS on every response, and a handler's own origin replaces the default once", async () => {
    for (const route of ['/scw/', '/scw/throw', '/scw/favicon.ico']) {
      const res = await p.call(route);
      expect(res.headers.get('access-control-allow-origin'), route).toBe('*');
      expect(res.headers.get('access-control-allow-headers'), route).toBe('Content-Type');
    }
    const own = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${p.httpUrl}/scw/cors`, resolve).on('error', reject),
    );
    own.resume();
    const origins = own.rawHeaders.filter(
      (_, i) => i % 2 === 0 && own.rawHeaders[i]?.toLowerCase() === 'access-control-allow-origin',
    );
    expect(origins).toHaveLength(1);
    expect(own.headers['access-control-allow-origin']).toBe('https://a');
    const thrown = await p.call('/scw/throw');
    expect(thrown.status).toBe(500);
    expect(await thrown.text()).toContain('boom');
  });

  it('12: a body announced over the limit is 413 with the exact message', async () => {
    const res = await announce(`${p.httpUrl}/scw/`, 7 * 1024 * 1024);
    expect(res.status).toBe(413);
    expect(res.body).toBe('Request payload too large, max payload size = 6291456 bytes\n');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('13: /favicon.ico and /robots.txt never reach the handler', async () => {
    for (const route of ['/scw/favicon.ico', '/scw/robots.txt']) {
      const res = await p.call(route);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    }
    expect((await p.call('/scw/seen')).status).toBe(200);
    const logs = await waitFor('the seen call in the logs', async () => {
      const lines = await p.logs('scw');
      return lines.some((line) => line.message.includes('/seen')) ? lines : undefined;
    });
    expect(logs.filter((line) => /favicon|robots/.test(line.message))).toEqual([]);
  });

  it('20: SCW_TRIGGER_TYPE mqtt hands a string event and answers executed properly; others are 400', async () => {
    const mqtt = await p.call('/scw/', {
      method: 'POST',
      headers: { SCW_TRIGGER_TYPE: 'mqtt' },
      body: 'sensor 42',
    });
    expect(mqtt.status).toBe(200);
    expect((await mqtt.text()).trim()).toBe('executed properly');
    await waitFor('the string event in the logs', async () =>
      (await p.logs('scw')).some((line) => line.message === 'string event: sensor 42') ? true : undefined,
    );
    const other = await p.call('/scw/', { headers: { SCW_TRIGGER_TYPE: 'foo' } });
    expect(other.status).toBe(400);
    expect(await other.text()).toBe('Trigger Type is not supported by Scaleway Functions Runtime\n');
  });

  it('21: a cron schedule with args calls POST / with them as the JSON body', async () => {
    await waitFor(
      'a cron run in the logs',
      async () =>
        (await p.logs('scw')).some((line) => line.message === 'called POST / {"a":1}') ? true : undefined,
      10_000,
    );
  });

  it('22: two concurrent requests never share an instance at the same time', async () => {
    const [a, b] = await Promise.all([p.call('/scw/busy'), p.call('/scw/busy')]);
    const first = (await a!.json()) as { instance: string; start: number; end: number };
    const second = (await b!.json()) as { instance: string; start: number; end: number };
    if (first.instance === second.instance) {
      expect(first.end <= second.start || second.end <= first.start).toBe(true);
    } else {
      expect(first.instance).not.toBe(second.instance);
    }
  });

  it('24: a deploy with a variable named SCW_… is refused', async () => {
    const res = await deployWith('scw-reserved', { env: { SCW_FOO: 'x' } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('SCW_FOO');
  });

  it('18, 19: a private function answers in Scaleway words, and takes its tokens', async () => {
    expect((await deployWith('scw-private', { access: { private: true } })).status).toBe(201);
    const none = await p.call('/scw-private/');
    expect(none.status).toBe(403);
    expect(await none.text()).toBe('Forbidden\n');
    expect(none.headers.get('access-control-allow-origin')).toBe('*');
    const bad = await p.call('/scw-private/', { headers: { 'X-Auth-Token': 'not.a.jwt' } });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toBe('authorization token not valid\n');
    const minted = await p.api('/v1/functions/scw-private/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    for (const header of ['X-Auth-Token', 'SCW-Functions-Token']) {
      const res = await p.call('/scw-private/', { headers: { [header]: token } });
      expect(res.status, header).toBe(200);
    }
  }, 60_000);
});
