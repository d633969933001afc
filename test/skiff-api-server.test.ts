/**
 * The `$SKIFF_API` server of the exec and http bridges (runtimes/shared/api-server.ts) against a fake
 * backend on a real Unix socket: how a request becomes CALL, CAST and STATE meta, how answers and
 * refusals come back, and the bounds a process inside cannot grow past.
 */
import http from 'node:http';
import net from 'node:net';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallError, type CallReply } from '../runtimes/shared/calls.js';
import {
  startApiServer,
  type ApiBackend,
  type ApiLimits,
  type ApiServer,
} from '../runtimes/shared/api-server.js';
import { folderWith } from './helpers/tmp.js';

const LIVE = 'inv-live';
const LIMITS: ApiLimits = {
  maxBodyBytes: 1000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 3,
  requestTimeoutMs: 500,
  idleTimeoutMs: 300,
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  code?: string;
}

function request(
  socketPath: string,
  method: string,
  route: string,
  headers: Record<string, string> = { 'x-skiff-invocation-id': LIVE },
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: route, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ...(code ? { code } : {}) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('$SKIFF_API server', () => {
  let dir: string;
  let server: ApiServer | undefined;
  const seen: { kind: string; meta: unknown; body: string }[] = [];
  const reply = (status: number, body: string): CallReply => ({
    status,
    headers: [
      ['content-type', 'text/plain'],
      ['x-from', 'fake'],
      ['transfer-encoding', 'chunked'],
    ],
    body: Buffer.from(body),
  });
  const full: ApiBackend = {
    call: (meta, body) => {
      seen.push({ kind: 'call', meta, body: body.toString() });
      if (meta.function === 'deep') return Promise.reject(new CallError('SKIFF_E_CALL_DEPTH', 'too deep'));
      if (meta.function === 'odd') return Promise.reject(new CallError('SKIFF_E_FROM_THE_FUTURE', 'new'));
      return Promise.resolve(reply(201, `called ${meta.function}`));
    },
    cast: (meta, body) => {
      seen.push({ kind: 'cast', meta, body: body.toString() });
      return Promise.resolve(reply(202, '{"id":"a","ids":["a"]}'));
    },
    state: (meta, body) => {
      seen.push({ kind: 'state', meta, body: body.toString() });
      return Promise.resolve(reply(200, 'value'));
    },
  };

  const start = async (backend: ApiBackend): Promise<string> => {
    const socketPath = path.join(dir, `api-${Math.random().toString(36).slice(2)}.sock`);
    server = await startApiServer({ socketPath, backend, live: (id) => id === LIVE, limits: LIMITS });
    return socketPath;
  };

  beforeAll(async () => {
    dir = await folderWith({});
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    seen.length = 0;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns ANY /call/{function}/{path} into CALL meta and answers with the reply as it is', async () => {
    const api = await start(full);
    const headers = { 'x-skiff-invocation-id': LIVE, 'content-type': 'text/plain', 'x-custom': 'c' };
    const res = await request(api, 'PUT', '/call/resize/a/b?x=1', headers, 'body');
    expect(res).toMatchObject({ status: 201, body: 'called resize' });
    expect(res.headers['x-from']).toBe('fake');
    expect(res.headers['content-length']).toBe('13');
    expect(seen).toEqual([
      {
        kind: 'call',
        body: 'body',
        meta: {
          invocationId: LIVE,
          function: 'resize',
          method: 'PUT',
          path: '/a/b?x=1',
          // framing, Host and the invocation id are the API's own, not the callee's
          headers: [
            ['content-type', 'text/plain'],
            ['x-custom', 'c'],
          ],
        },
      },
    ]);
    await request(api, 'GET', '/call/resize');
    expect(seen[1]?.meta).toMatchObject({ function: 'resize', method: 'GET', path: '/' });
  });

  it("a refusal of the platform (FAIL) is the code's status; an unknown code is 502", async () => {
    const api = await start(full);
    expect(await request(api, 'POST', '/call/deep/', undefined, 'x')).toMatchObject({
      status: 508,
      code: 'SKIFF_E_CALL_DEPTH',
    });
    expect(await request(api, 'POST', '/call/odd/', undefined, 'x')).toMatchObject({ status: 502 });
  });

  it('maps /cast and /state to CAST and STATE meta', async () => {
    const api = await start(full);
    const typed = { 'x-skiff-invocation-id': LIVE, 'content-type': 'application/json' };
    expect((await request(api, 'POST', '/cast/audit?delayMs=1000', typed, '{}')).status).toBe(202);
    await request(api, 'GET', '/state/counter');
    await request(api, 'PUT', '/state/a%2Fb', { ...typed, 'if-match': '3' }, '{"n":1}');
    await request(api, 'DELETE', '/state/counter', { 'x-skiff-invocation-id': LIVE, 'if-match': '"4"' });
    await request(api, 'GET', '/state?prefix=user%3A');
    await request(api, 'GET', '/state?prefix=user%3A&after=user%3A9');
    expect(seen.map((s) => [s.kind, s.meta, s.body])).toEqual([
      [
        'cast',
        {
          invocationId: LIVE,
          function: 'audit',
          delayMs: 1000,
          headers: [['content-type', 'application/json']],
        },
        '{}',
      ],
      ['state', { invocationId: LIVE, op: 'get', key: 'counter' }, ''],
      [
        'state',
        { invocationId: LIVE, op: 'set', key: 'a/b', ifVersion: 3, contentType: 'application/json' },
        '{"n":1}',
      ],
      ['state', { invocationId: LIVE, op: 'delete', key: 'counter', ifVersion: 4 }, ''],
      ['state', { invocationId: LIVE, op: 'list', prefix: 'user:' }, ''],
      ['state', { invocationId: LIVE, op: 'list', prefix: 'user:', key: 'user:9' }, ''],
    ]);
    expect(await request(api, 'GET', '/cast/audit')).toMatchObject({
      status: 405,
      code: 'SKIFF_E_METHOD_NOT_ALLOWED',
    });
    expect(await request(api, 'POST', '/cast/audit?delayMs=-1')).toMatchObject({ status: 400 });
    expect(
      await request(api, 'PUT', '/state/k', { 'x-skiff-invocation-id': LIVE, 'if-match': 'x' }),
    ).toMatchObject({
      status: 400,
    });
  });

  it('answers 501 for cast and state when the backend does not serve them', async () => {
    const api = await start({ call: full.call });
    for (const [method, route] of [
      ['POST', '/cast/audit'],
      ['GET', '/state/k'],
      ['GET', '/state?prefix='],
    ] as const) {
      const res = await request(api, method, route);
      expect(res.status, route).toBe(501);
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 'SKIFF_E_INTERNAL', message: expect.stringContaining('does not serve') as unknown },
      });
    }
    expect(seen).toEqual([]);
  });

  it('refuses a missing or unknown invocation id, an unknown route and a body over the limit', async () => {
    const api = await start(full);
    expect(await request(api, 'POST', '/call/f/', {}, 'x')).toMatchObject({
      status: 400,
      code: 'SKIFF_E_INVALID_REQUEST',
    });
    expect(await request(api, 'POST', '/call/f/', { 'x-skiff-invocation-id': 'gone' }, 'x')).toMatchObject({
      status: 404,
      code: 'SKIFF_E_INVOCATION_NOT_FOUND',
    });
    expect(await request(api, 'GET', '/elsewhere')).toMatchObject({ status: 404, code: 'SKIFF_E_NOT_FOUND' });
    expect(await request(api, 'GET', '/call/%ZZ/')).toMatchObject({ status: 400 });
    expect(await request(api, 'GET', `/call/f/${'p'.repeat(8200)}`)).toMatchObject({ status: 400 });
    // declared, and streamed in chunks without a length
    const big = Buffer.alloc(1001, 'x');
    expect(await request(api, 'POST', '/call/f/', undefined, big)).toMatchObject({
      status: 413,
      code: 'SKIFF_E_PAYLOAD_TOO_LARGE',
    });
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { socketPath: api, method: 'POST', path: '/call/f/', headers: { 'x-skiff-invocation-id': LIVE } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      for (let i = 0; i < 11; i++) req.write(Buffer.alloc(100, 'y'));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(seen).toEqual([]);
  });

  it('waits for a slow callee past the request and idle timeouts (they bound the request, not the answer)', async () => {
    const slow: ApiBackend = {
      call: () => new Promise((resolve) => setTimeout(() => resolve(reply(200, 'late')), 2_500)),
    };
    const api = await start(slow);
    expect(await request(api, 'POST', '/call/slow/', undefined, 'x')).toMatchObject({
      status: 200,
      body: 'late',
    });
  });

  it('refuses a header section over its limit (431)', async () => {
    const api = await start(full);
    const res = await request(api, 'GET', '/call/f/', {
      'x-skiff-invocation-id': LIVE,
      'x-big': 'h'.repeat(20_000),
    });
    expect(res.status).toBe(431);
  });

  it('closes connections beyond the limit, idle ones, and a request that is never finished', async () => {
    const api = await start(full);
    const connect = async (): Promise<{ socket: net.Socket; closed: Promise<number>; begun: number }> => {
      const socket = net.connect(api);
      socket.on('error', () => undefined);
      const begun = Date.now();
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - begun)));
      await new Promise((resolve) => socket.once('connect', resolve));
      return { socket, closed, begun };
    };
    const open = [];
    for (let i = 0; i < LIMITS.maxConnections; i++) open.push(await connect());
    const extra = net.connect(api);
    extra.on('error', () => undefined);
    const extraAt = await new Promise<number>((resolve) => extra.on('close', () => resolve(Date.now())));
    // the one over the limit is closed at once, the idle ones after the idle timeout (300 ms)
    const idle = await Promise.all(open.map((c) => c.closed));
    expect(Math.max(...idle)).toBeLessThan(3_000);
    expect(extraAt).toBeLessThan(Math.min(...open.map((c) => c.begun)) + Math.min(...idle));
    // a request whose body never comes is answered 408 after the request timeout (checked every second)
    const stalled = await connect();
    const answer = new Promise<string>((resolve) =>
      stalled.socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    stalled.socket.write(
      `POST /call/f/ HTTP/1.1\r\nhost: x\r\nx-skiff-invocation-id: ${LIVE}\r\ncontent-length: 10\r\n\r\n`,
    );
    expect(await answer).toMatch(/^HTTP\/1.1 408/);
    expect(await stalled.closed).toBeLessThan(5_000);
    expect(seen).toEqual([]);
  });
});
