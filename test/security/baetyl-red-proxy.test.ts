/**
 * The Baetyl v2 proxy (`/<service>[/<function>]`) and the gRPC services against a hostile client:
 * a private function stays behind its token whatever the route, the Metadata or the headers say;
 * a path reaches a recorded service's listed functions and nothing else; pipelined requests are
 * answered in order; and an error answer names no host path.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { folderWith } from '../helpers/tmp.js';
import { baetylClients } from './baetyl-red-client.js';

let p: TestPlatform;
let grpc: ReturnType<typeof baetylClients>;
let proxy: string;
let secretDir: string;

beforeAll(async () => {
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  const code = await readFile(path.join(fixture('echo-cjs'), 'index.js'), 'utf8');
  secretDir = await folderWith({
    'index.js': code,
    'skiff.json': JSON.stringify({ access: { private: true } }),
  });
  expect((await p.deploy('secret', secretDir)).status).toBe(201);
  expect((await p.deploy('echo', fixture('echo-cjs'))).status).toBe(201);
  expect((await p.deploy('other', fixture('echo-cjs'))).status).toBe(201);
  servicesFor(p.dataDir).set('svc', ['secret', 'echo']);
  servicesFor(p.dataDir).set('open', ['echo', 'gone']);
  proxy = p.server.endpoints['baetyl-proxy'] as string;
  grpc = baetylClients(p);
}, 60_000);

afterAll(async () => {
  grpc?.close();
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
  if (secretDir !== undefined) await removeDir(secretDir);
});

const post = (route: string, headers: Record<string, string> = {}) =>
  fetch(`${proxy}${route}`, { method: 'POST', headers, body: 'hi' });

describe('a private function behind the proxy and the gRPC services', () => {
  it('refuses the proxy without a token, with a bad one and with a token smuggled elsewhere', async () => {
    for (const [route, headers, want] of [
      ['/svc', {}, 403],
      ['/svc/secret', {}, 403],
      ['/svc/secret', { authorization: 'Bearer not.a.jwt' }, 401],
      ['/svc/secret', { 'x-auth-token': 'forged' }, 401],
      ['/svc/secret', { invokeid: 'x-auth-token: forged' }, 403],
    ] as const) {
      const res = await post(route, headers);
      expect(res.status, `${route} ${JSON.stringify(headers)}`).toBe(want);
      expect(await res.json()).toMatchObject({ errCode: 'ERR_FUNCTION_CALL' });
    }
  });

  it('refuses every gRPC service, whatever the Metadata map says', async () => {
    const v1 = { FunctionName: 'secret', Payload: Buffer.from('hi') };
    for (const service of ['runtime', 'openedge', 'baetyl'] as const) {
      expect((await grpc.call(service, v1)).err?.code).toBe(status.PERMISSION_DENIED);
    }
    const smuggled = await grpc.call('faas', {
      Metadata: { functionName: 'secret', 'x-auth-token': 'forged', authorization: 'Bearer x' },
      Payload: Buffer.from('hi'),
    });
    expect(smuggled.err?.code).toBe(status.PERMISSION_DENIED);
    const byService = await grpc.call('faas', {
      Metadata: { serviceName: 'svc' },
      Payload: Buffer.from('hi'),
    });
    expect(byService.err?.code).toBe(status.PERMISSION_DENIED);
    const md = new Metadata();
    md.set('x-auth-token', 'forged');
    expect((await grpc.call('baetyl', v1, md)).err?.code).toBe(status.UNAUTHENTICATED);
  });
});

describe('routes', () => {
  it('reach a listed function of a recorded service', async () => {
    const res = await post('/svc/echo');
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { function: string; headers: Record<string, string> };
    expect(seen.function).toBe('echo');
    expect(JSON.parse(seen.headers['baetyl-context'] ?? '{}')).toMatchObject({
      serviceName: 'svc',
      functionName: 'echo',
    });
  });

  it.each([
    ['/svc/other', 500, 'ERR_FUNCTION_CALL'],
    ['/svc/..%2Fother', 500, 'ERR_FUNCTION_CALL'],
    ['/svc%2Fecho', 404, 'ERR_ADDRESS_RESOLVE'],
    ['/other', 404, 'ERR_ADDRESS_RESOLVE'],
    ['/echo', 404, 'ERR_ADDRESS_RESOLVE'],
    ['/open/gone', 500, 'ERR_GET_GRPC_CONN'],
  ])('%s reaches no other function (%i %s)', async (route, want, errCode) => {
    const res = await post(route);
    expect(res.status).toBe(want);
    const body = (await res.json()) as { errCode: string; message: string };
    expect(body.errCode).toBe(errCode);
    expect(body.message).not.toContain(p.dataDir);
  });

  it.each(['/svc/echo/more', '//svc', '/svc//echo', '/svc/echo%ZZ', '/'])('%s is 404', async (route) => {
    expect((await post(route)).status).toBe(404);
  });

  it.each(['PATCH', 'OPTIONS', 'HEAD'])('method %s is 405', async (method) => {
    expect((await fetch(`${proxy}/svc/echo`, { method })).status).toBe(405);
  });

  it('answers pipelined requests in order, one at a time', async () => {
    const { host, port } = new URL(proxy);
    const request = (fn: string, body: string) =>
      `POST /svc/${fn} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(request('echo', 'first') + request('secret', 'second') + request('echo', 'third'));
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if ((text.match(/HTTP\/1\.1 /g) ?? []).length === 3 && text.endsWith('}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '403', '200']);
    expect(raw.indexOf('"body":"first"')).toBeLessThan(raw.indexOf('"body":"third"'));
  });
});
