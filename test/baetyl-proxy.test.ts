/**
 * Baetyl v2's HTTP function proxy on the real platform (src/compat/baetyl/proxy.ts), over real HTTP:
 * routes, services and their first function, the Metadata context, content types and upstream's error
 * answers. The native function `bt-native` shows what a function is handed; the last block runs a
 * Baetyl handler (flavor `baetyl`) through the bridge.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from './helpers/platform.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LIMIT = 64 * 1024;

interface Answer {
  status: number;
  type: string | null;
  text: string;
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('Baetyl v2 proxy', () => {
  let p: TestPlatform;
  let proxy: string;
  const post = (route: string, body?: string, headers: Record<string, string> = {}) =>
    send(`${proxy}${route}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    p = await startPlatform({
      config: { compat: { baetyl: { enabled: true, maxMessageBytes: LIMIT, proxy: { port: 0 } } } },
    });
    proxy = p.server.endpoints['baetyl-proxy'] ?? '';
    await p.deployAll({ 'bt-native': 'bt-native', 'bt-other': 'bt-native' });
    const services = servicesFor(p.dataDir);
    services.set('svc', ['bt-native', 'bt-other']);
    services.set('gone', ['bt-deleted']);
    services.set('hollow', []);
  }, 120_000);
  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('listens on its own port, named in endpoints.json', async () => {
    expect(proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const endpoints = JSON.parse(await readFile(path.join(p.dataDir, 'endpoints.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(endpoints['baetyl-proxy']).toBe(proxy);
  });

  it('calls /<service>/<function> with the body and the Metadata context, generation 2', async () => {
    const res = await post('/svc/bt-other', '{"temp":35}');
    expect([res.status, res.type]).toEqual([200, 'application/json']);
    const seen = JSON.parse(res.text) as { context: Record<string, string> };
    expect(seen).toMatchObject({ body: '{"temp":35}', generation: '2', topic: null, qos: null });
    expect(Object.keys(seen.context).sort()).toEqual(['functionName', 'invokeId', 'serviceName']);
    expect(seen.context).toMatchObject({ serviceName: 'svc', functionName: 'bt-other' });
    expect(seen.context['invokeId']).toMatch(UUID);
  });

  it('takes invokeId from the invokeid header', async () => {
    const res = await post('/svc/bt-native', 'x', { invokeid: 'abc' });
    expect(JSON.parse(res.text)).toMatchObject({ context: { invokeId: 'abc' } });
  });

  it('answers every method upstream routes, and an empty body as empty bytes', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await send(`${proxy}/svc/bt-native`, { method });
      expect(res.status, method).toBe(200);
      expect(JSON.parse(res.text), method).toMatchObject({ bytes: 0, body: '' });
    }
    expect((await send(`${proxy}/svc/bt-native`, { method: 'PATCH', body: 'x' })).status).toBe(405);
    expect((await post('/')).status).toBe(404);
    expect((await post('/svc/bt-native/deeper')).status).toBe(404);
  });

  it('sends application/json only when the output is valid JSON', async () => {
    const text = await post('/svc/bt-native', 'text');
    expect([text.status, text.text]).toEqual([200, 'plain words']);
    expect(text.type).not.toContain('json');
    const empty = await post('/svc/bt-native', 'empty');
    expect([empty.status, empty.text]).toEqual([200, '']);
    expect(empty.type).not.toContain('json');
  });

  it('calls the first function of /<service> alone, with functionName ""', async () => {
    const res = await post('/svc', 'x');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({
      body: 'x',
      context: { serviceName: 'svc', functionName: '' },
    });
  });

  it("answers upstream's errors", async () => {
    const unknown = await post('/nosuch/fn', 'x');
    expect([unknown.status, unknown.type]).toEqual([404, 'application/json']);
    expect(JSON.parse(unknown.text)).toEqual({
      errCode: 'ERR_ADDRESS_RESOLVE',
      message: 'no such service in services mapping file',
    });
    // a native function is no service of itself (only a baetyl-flavor one is)
    expect((await post('/bt-native', 'x')).status).toBe(404);
    const failed = await post('/svc/bt-native', 'fail');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.text)).toEqual({
      errCode: 'ERR_FUNCTION_CALL',
      message:
        "rpc error: code = Unknown desc = Exception calling application: ('[UserCodeInvoke] ', TypeError('boom'))",
    });
    const outside = await post('/svc/bt-elsewhere', 'x');
    expect([outside.status, JSON.parse(outside.text)]).toEqual([
      500,
      {
        errCode: 'ERR_FUNCTION_CALL',
        message: "rpc error: code = Unknown desc = the function doesn't found",
      },
    ]);
    const hollow = await post('/hollow', 'x');
    expect([hollow.status, JSON.parse(hollow.text)]).toEqual([
      500,
      { errCode: 'ERR_FUNCTION_CALL', message: 'rpc error: code = Unknown desc = no functions exist' },
    ]);
    const gone = await post('/gone', 'x');
    expect(gone.status).toBe(500);
    expect(JSON.parse(gone.text)).toMatchObject({ errCode: 'ERR_GET_GRPC_CONN' });
  });

  it('refuses a body over compat.baetyl.maxMessageBytes and keeps serving', async () => {
    const big = await post('/svc/bt-native', 'a'.repeat(LIMIT + 1));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text)).toMatchObject({ errCode: 'ERR_BODY_TOO_LARGE' });
    expect((await post('/svc/bt-native', 'a'.repeat(LIMIT))).status).toBe(200);
  });

  it('refuses a private function without a token', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    try {
      await cp(fixture('bt-native'), tmp, { recursive: true });
      await writeFile(
        path.join(tmp, 'skiff.json'),
        JSON.stringify({ runtime: 'node', access: { private: true } }),
      );
      expect((await p.deploy('bt-secret', tmp)).status).toBe(201);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    servicesFor(p.dataDir).set('secret', ['bt-secret']);
    const refused = await post('/secret', 'x');
    expect([refused.status, JSON.parse(refused.text)]).toEqual([
      403,
      { errCode: 'ERR_FUNCTION_CALL', message: 'Forbidden' },
    ]);
  });
});

/** These need the bridges' `baetyl` flavor (runtimes/node). */
describe('Baetyl v2 proxy with a Baetyl handler', () => {
  let p: TestPlatform;
  let proxy: string;

  beforeAll(async () => {
    p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
    proxy = p.server.endpoints['baetyl-proxy'] ?? '';
    await p.deployAll({ 'bt-node': 'bt-node' });
  }, 120_000);
  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('makes a baetyl function a service of itself: event, context, JSON and text outputs, errors', async () => {
    const res = await send(`${proxy}/bt-node`, {
      method: 'POST',
      body: '{"temp":35}',
      headers: { invokeid: 'abc' },
    });
    expect([res.status, res.type]).toEqual([200, 'application/json']);
    expect(JSON.parse(res.text)).toEqual({
      event: { temp: 35 },
      context: { serviceName: 'bt-node', functionName: '', invokeId: 'abc' },
    });
    const named = await send(`${proxy}/bt-node/bt-node`, { method: 'POST', body: '{"text":true}' });
    expect([named.status, named.text]).toEqual([200, 'plain words']);
    expect(named.type).not.toContain('json');
    const failed = await send(`${proxy}/bt-node`, { method: 'POST', body: '{"fail":true}' });
    expect(failed.status).toBe(500);
    const error = JSON.parse(failed.text) as { errCode: string; message: string };
    expect(error.errCode).toBe('ERR_FUNCTION_CALL');
    expect(error.message).toContain('boom');
  });
});
