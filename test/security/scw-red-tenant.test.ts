/**
 * A hostile tenant of the Scaleway flavor (docs/compat/scaleway.md): spoofed proxy headers, handlers
 * that answer many times, never, or with results built to hurt the bridge, the one-request-per-
 * instance cap, SCW_TRIGGER_TYPE tricks and `file:export` names that name Object's own members.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('Scaleway flavor against a hostile tenant', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  /** Deploys a copy of the scw-red-node fixture with `spec` merged into its skiff.json. */
  const deployWith = async (name: string, spec: Record<string, unknown>): Promise<Response> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-scw-red-'));
    dirs.push(dir);
    await cp(fixture('scw-red-node'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'skiff.json'),
      JSON.stringify({ runtime: 'node', flavor: 'scaleway', timeoutMs: 2000, ...spec }),
    );
    return p.deploy(name, dir);
  };

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ red: 'scw-red-node', 'red-py': 'scw-red-py' });
  }, 60_000);

  afterAll(async () => {
    await p.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('overwrites every proxy header a caller sends, in any case, with the platform values', async () => {
    const res = await p.call('/red/headers', {
      headers: {
        'X-Envoy-External-Address': '6.6.6.6',
        'K-PROXY-REQUEST': 'spoofed',
        'x-request-id': 'chosen-by-caller',
        Forwarded: 'for=6.6.6.6;proto=https',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-For': '6.6.6.6',
      },
    });
    expect(res.status).toBe(200);
    const headers = (await res.json()) as Record<string, string | string[]>;
    // the event names headers in their canonical case, each once
    const names = Object.keys(headers).map((name) => name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    expect(headers['X-Envoy-External-Address']).toBe('127.0.0.1');
    expect(headers['K-Proxy-Request']).toBe('activator');
    expect(headers['X-Request-Id']).not.toBe('chosen-by-caller');
    expect(headers['Forwarded']).toBe('for=127.0.0.1;proto=http');
    expect(headers['X-Forwarded-Proto']).toBe('http');
    // as Envoy does: the caller's list, then the address the platform saw last (the one to trust)
    expect(headers['X-Forwarded-For']).toBe('6.6.6.6, 127.0.0.1');
  }, 30_000);

  it('takes the first of a thousand callbacks, and the instance goes on answering', async () => {
    const res = await p.call('/red/many');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('call 0');
    expect((await p.call('/red/ok')).status).toBe(200);
  }, 30_000);

  it('ends a promise that never settles at the timeout, and answers the next call', async () => {
    const started = Date.now();
    const res = await p.call('/red/never');
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await (await p.call('/red/ok')).text()).toBe('ok /ok');
  }, 30_000);

  it('survives an exception thrown after the answer', async () => {
    const res = await p.call('/red/late-throw');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('answered first');
    // The instance dies of it 5 ms later: a call that reaches it in that window fails as a call in
    // flight at a crash does (502, SKIFF_E_INSTANCE_CRASHED, as Lambda charges such a crash to the
    // next invocation); the one after gets a new instance. The function goes on answering.
    const next = await p.call('/red/ok');
    if (next.status !== 200) {
      expect(next.status).toBe(502);
      await next.arrayBuffer();
      expect((await p.call('/red/ok')).status).toBe(200);
    }
  }, 30_000);

  it('answers 500 to a result too deep or cyclic to serialise, and to a base64 bomb', async () => {
    for (const route of ['/red/deep', '/red/cycle', '/red/bomb']) {
      const res = await p.call(route);
      expect(res.status, route).toBeGreaterThanOrEqual(500);
      await res.arrayBuffer();
    }
    expect((await p.call('/red/ok')).status).toBe(200);
  }, 60_000);

  it('keeps one request per instance when sync and async calls of a concurrency-8 spec mix', async () => {
    const async = await Promise.all(
      [0, 1].map(() => p.call('/red/slow', { method: 'POST', headers: { 'X-Skiff-Async': 'true' } })),
    );
    for (const res of async) expect([202, 429]).toContain(res.status);
    const replies = await Promise.all([0, 1, 2, 3].map(() => p.call('/red/slow')));
    let answered = 0;
    for (const res of replies) {
      const text = await res.text();
      if (res.status !== 200) continue;
      answered += 1;
      expect(text).toBe('1');
    }
    expect(answered).toBeGreaterThan(0);
  }, 60_000);

  it('refuses SCW_TRIGGER_TYPE values other than mqtt, in any case or doubled', async () => {
    for (const value of ['MQTT', 'cron', 'mqtt, mqtt', 'nats']) {
      const res = await p.call('/red/ok', { headers: { SCW_TRIGGER_TYPE: value } });
      expect(res.status, value).toBe(400);
      await res.text();
    }
  }, 30_000);

  it('does not take Object members (constructor, toString, __proto__) as a file:export handler', async () => {
    for (const member of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const name = `red-${member.replace(/_/g, '').toLowerCase()}`;
      const deployed = await deployWith(name, { handler: `handler.js:${member}` });
      if (deployed.status !== 201) {
        // refused at deploy: safe too
        expect(deployed.status, member).toBeGreaterThanOrEqual(400);
        continue;
      }
      const res = await p.call(`/${name}/headers`, { headers: { 'X-Auth-Token': 'secret-of-caller' } });
      const text = await res.text();
      expect(res.status, `${member}: ${text}`).toBe(500);
      expect(text).not.toContain('secret-of-caller');
    }
  }, 120_000);

  it('answers 500 to Python results that break the serialiser, a SystemExit and a busy loop, and goes on', async () => {
    for (const route of ['/deep', '/deep-text', '/bigint', '/generator', '/exit', '/status', '/never']) {
      const res = await p.call(`/red-py${route}`);
      const text = await res.text();
      // a text that merely looks deep is a 200 of that text; everything else fails cleanly
      if (route === '/deep-text') expect(res.status, route).toBe(200);
      else expect(res.status, `${route}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(500);
      expect(await (await p.call('/red-py/ok')).text(), route).toBe('ok /ok');
    }
  }, 120_000);

  it('refuses cron args nested too deep to serialise with a 4xx, and keeps serving', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-scw-red-'));
    dirs.push(dir);
    await cp(fixture('scw-red-node'), dir, { recursive: true });
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    await writeFile(
      path.join(dir, 'skiff.json'),
      `{"runtime":"node","flavor":"scaleway","triggers":{"cron":[{"schedule":"0 0 1 1 *","args":${deep}}]}}`,
    );
    const res = await p.deploy('red-cron', dir);
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(res.status, text.slice(0, 300)).toBeLessThan(500);
    expect((await p.call('/red/ok')).status).toBe(200);
  }, 60_000);

  it('keeps results that trap, resolve a hundred times, inject headers, switch protocols or flood headers in bounds', async () => {
    const proxy = await p.call('/red/proxy');
    expect(proxy.status).toBe(500);
    await proxy.text();
    const thenable = await p.call('/red/thenable');
    expect(await thenable.text()).toBe('then 0');
    const crlf = await p.call('/red/crlf');
    await crlf.text();
    expect(crlf.headers.get('set-cookie')).toBeNull();
    const switching = await p.call('/red/switching');
    await switching.text();
    expect(switching.status).toBeGreaterThanOrEqual(200);
    const flood = await p.call('/red/many-headers');
    await flood.text();
    expect(flood.status).toBeGreaterThanOrEqual(500);
    expect((await p.call('/red/ok')).status).toBe(200);
  }, 60_000);
});
