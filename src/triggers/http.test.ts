/**
 * The HTTP gateway in memory, against a fake invoke (no executor, no port): how a request becomes
 * the neutral Invocation, how a Result and an error come back, async accept and the caps.
 * Native behaviour only (a dialect's gateway rules are tested with the dialect).
 */
import type { RequestListener } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  inMemoryClient,
  type InMemoryRequest,
  type InMemoryResponse,
} from '../../test/helpers/in-memory-http.js';
import type { Invocation, Result } from '../model/invocation.js';
import { SkiffError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { createHttpTrigger, type AsyncAccept, type HttpTriggerDeps } from './http.js';

type Accepted = { inv: Parameters<AsyncAccept['accept']>[0]; callbackUrl: string | null };

/** A gateway whose function answers with `answer`; every invocation and async accept is recorded. */
function gateway(
  answer: (inv: Invocation) => Promise<Result> | Result = () => ok('hi'),
  options: Partial<Omit<HttpTriggerDeps, 'invoke' | 'logger'>> = {},
) {
  const invocations: Invocation[] = [];
  const accepted: Accepted[] = [];
  const handler = createHttpTrigger({
    invoke: async (inv) => {
      invocations.push(inv);
      return answer(inv);
    },
    maxBodyBytes: 1024,
    logger: createLogger('silent'),
    async: {
      check: (name) => {
        if (name === 'missing')
          throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', 'no function named missing');
      },
      accept: (inv, callbackUrl) => {
        accepted.push({ inv, callbackUrl });
        return `async-${accepted.length}`;
      },
      location: (id) => `http://control.test/v1/invocations/${id}`,
      checkCallback: (raw) =>
        raw.startsWith('https://hooks.example/')
          ? Promise.resolve(raw)
          : Promise.reject(new SkiffError('SKIFF_E_FORBIDDEN_DESTINATION', 'not there')),
      maxBodyBytes: 2048,
    },
    ...options,
  });
  const client = inMemoryClient(handler as RequestListener);
  return { invocations, accepted, request: (req: InMemoryRequest) => client.request(req) };
}

function ok(body: string, status = 200, headers: [string, string][] = []): Result {
  return { status, headers, body: Buffer.from(body) };
}

const errorOf = (res: InMemoryResponse) =>
  res.json<{ error: { code: string; message: string; details?: unknown } }>().error;

describe('HTTP gateway: request → Invocation', () => {
  it('routes /<fn>/<path>?<query> to the function with the rest of the path and the query', async () => {
    const gw = gateway();
    await gw.request({ path: '/hello/a/b%20c?x=1&y=2' });
    await gw.request({ path: '/hello' });
    await gw.request({ path: '/hello?only=query' });
    await gw.request({ path: '/hello/' });
    expect(gw.invocations.map((inv) => [inv.function, inv.path, inv.query])).toEqual([
      ['hello', '/a/b%20c', 'x=1&y=2'],
      ['hello', '/', ''],
      ['hello', '/', 'only=query'],
      ['hello', '/', ''],
    ]);
  });

  it('passes the method, the body bytes, the headers without hop-by-hop ones, and the Host', async () => {
    const gw = gateway();
    await gw.request({
      method: 'POST',
      path: '/hello',
      headers: {
        'X-Custom': 'one',
        'content-type': 'text/plain',
        te: 'trailers',
        'keep-alive': 'timeout=5',
        host: 'api.example:8080',
      },
      body: Buffer.from([0, 1, 2, 255]),
    });
    const inv = gw.invocations[0] as Invocation;
    expect(inv).toMatchObject({
      function: 'hello',
      trigger: 'http',
      method: 'POST',
      host: 'api.example:8080',
    });
    expect([...inv.body]).toEqual([0, 1, 2, 255]);
    const names = inv.headers.map(([key]) => key);
    expect(inv.headers).toContainEqual(['x-custom', 'one']);
    expect(inv.headers).toContainEqual(['content-type', 'text/plain']);
    for (const hop of ['connection', 'te', 'keep-alive']) expect(names).not.toContain(hop);
    expect(inv.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes a chunked body whole, and an empty body for a request that declares none', async () => {
    const gw = gateway();
    const chunked = await gw.request({
      method: 'POST',
      path: '/hello',
      body: Buffer.from('abc'),
      chunked: true,
    });
    expect(chunked.status).toBe(200);
    const bare = await gw.request({ method: 'GET', path: '/hello' });
    expect(bare.status).toBe(200);
    const [first, second] = gw.invocations as [Invocation, Invocation];
    expect(first.body.toString()).toBe('abc');
    expect(second.body.length).toBe(0);
  });

  it('gives the function localhost for a Host that is not a plain host[:port]', async () => {
    const gw = gateway();
    await gw.request({ path: '/hello', headers: { host: 'evil.example/path' } });
    expect(gw.invocations[0]?.host).toBe('localhost');
  });

  it('answers a path that names no function with 404 SKIFF_E_FUNCTION_NOT_FOUND, without invoking', async () => {
    const gw = gateway();
    for (const path of ['/', '/Hello', '/-x/y', '/%2e%2e']) {
      const res = await gw.request({ path });
      expect(res.status, path).toBe(404);
      expect(errorOf(res).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    }
    expect(gw.invocations).toEqual([]);
  });
});

describe('HTTP gateway: Result → response', () => {
  it('sends the status, the headers (repeated ones kept) and the body, with the invocation id', async () => {
    const gw = gateway(() =>
      ok('{"made":true}', 201, [
        ['Content-Type', 'application/json'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]),
    );
    const res = await gw.request({ path: '/hello' });
    expect(res.status).toBe(201);
    expect(res.text).toBe('{"made":true}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['content-length']).toBe('13');
    expect(res.headers['x-skiff-invocation-id']).toBe(gw.invocations[0]?.id);
  });

  it('sends every body byte for byte, a small one joined to the head or a large one apart', async () => {
    const bytes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) bytes[i] = i;
    for (const body of [bytes, Buffer.concat(Array<Buffer>(40).fill(bytes))]) {
      const gw = gateway(() => ({ status: 200, headers: [], body }));
      const res = await gw.request({ path: '/hello' });
      expect(res.headers['content-length']).toBe(String(body.length));
      expect(res.body.equals(body)).toBe(true);
    }
  });

  it('drops hop-by-hop headers, Content-Length, Date and the invocation id from the function', async () => {
    const gw = gateway(() =>
      ok('body', 200, [
        ['connection', 'close'],
        ['transfer-encoding', 'chunked'],
        ['upgrade', 'websocket'],
        ['content-length', '999'],
        ['date', 'yesterday'],
        ['x-skiff-invocation-id', 'forged'],
        ['x-kept', 'yes'],
      ]),
    );
    const res = await gw.request({ path: '/hello' });
    expect(res.headers['x-skiff-invocation-id']).toBe(gw.invocations[0]?.id);
    expect(res.status).toBe(200);
    expect(res.text).toBe('body');
    expect(res.headers['content-length']).toBe('4');
    expect(res.headers['x-kept']).toBe('yes');
    expect(res.headers['upgrade']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.headers['connection']).not.toBe('close');
    expect(res.headers['date']).not.toBe('yesterday');
  });

  it('sends no body for 204 and 304', async () => {
    for (const status of [204, 304]) {
      const res = await gateway(() => ok('ignored', status)).request({ path: '/hello' });
      expect(res.status).toBe(status);
      expect(res.body.length).toBe(0);
    }
  });

  it('answers a status or header a caller must not get with 502 SKIFF_E_BAD_RESPONSE', async () => {
    for (const result of [ok('x', 101), ok('x', 99), ok('x', 600), ok('x', 200, [['x-bad', 'a\nb']])]) {
      const res = await gateway(() => result).request({ path: '/hello' });
      expect(res.status, JSON.stringify(result.headers)).toBe(502);
      expect(errorOf(res).code).toBe('SKIFF_E_BAD_RESPONSE');
      expect(res.headers['x-skiff-invocation-id']).toBeDefined();
    }
  });
});

describe('HTTP gateway: errors → status and code', () => {
  it('maps the invocation errors to their status and code, with Retry-After where one is set', async () => {
    const cases = [
      [new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', 'no function named hello'), 404],
      [new SkiffError('SKIFF_E_QUEUE_FULL', 'the queue is full', { retryAfterSec: 2.5 }), 503],
      [new SkiffError('SKIFF_E_TIMEOUT', 'took too long'), 504],
      [new SkiffError('SKIFF_E_FUNCTION_ERROR', 'it threw'), 500],
    ] as const;
    for (const [error, status] of cases) {
      const res = await gateway(() => Promise.reject(error)).request({ path: '/hello' });
      expect(res.status, error.code).toBe(status);
      expect(errorOf(res)).toEqual({ code: error.code, message: error.message });
      expect(res.headers['retry-after']).toBe(error.retryAfterSec === undefined ? undefined : '3');
    }
  });

  it("keeps an error's details (an instance's stderr) from the caller", async () => {
    const error = new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the instance exited', {
      details: { stderr: 'secret path' },
    });
    const res = await gateway(() => Promise.reject(error)).request({ path: '/hello' });
    expect(res.status).toBe(error.status);
    expect(errorOf(res).details).toBeUndefined();
    expect(res.text).not.toContain('secret path');
  });

  it('answers anything else thrown with 500 SKIFF_E_INTERNAL, without its message', async () => {
    const res = await gateway(() => Promise.reject(new Error('db password is hunter2'))).request({
      path: '/hello',
    });
    expect(res.status).toBe(500);
    expect(errorOf(res).code).toBe('SKIFF_E_INTERNAL');
    expect(res.text).not.toContain('hunter2');
  });
});

describe('HTTP gateway: async accept', () => {
  it('accepts X-Skiff-Async: true with 202, the id, its status location, and queues the request', async () => {
    const gw = gateway();
    const res = await gw.request({
      method: 'POST',
      path: '/hello/sub?x=1',
      headers: { 'x-skiff-async': 'true', 'x-custom': 'v' },
      body: 'payload',
    });
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({
      id: 'async-1',
      status: 'queued',
      location: 'http://control.test/v1/invocations/async-1',
    });
    expect(res.headers['location']).toBe('http://control.test/v1/invocations/async-1');
    expect(res.headers['x-skiff-invocation-id']).toBe('async-1');
    expect(gw.invocations).toEqual([]);
    const { inv, callbackUrl } = gw.accepted[0] as Accepted;
    expect(inv).toMatchObject({
      function: 'hello',
      method: 'POST',
      path: '/sub',
      query: 'x=1',
      host: 'localhost',
    });
    expect(inv.body.toString()).toBe('payload');
    expect(inv.headers).toContainEqual(['x-custom', 'v']);
    expect(callbackUrl).toBeNull();
  });

  it('accepts Prefer: respond-async among other preferences, and runs X-Skiff-Async: false at once', async () => {
    const gw = gateway();
    expect((await gw.request({ path: '/hello', headers: { prefer: 'wait=5, respond-async' } })).status).toBe(
      202,
    );
    expect((await gw.request({ path: '/hello', headers: { prefer: 'respond-asyncx' } })).status).toBe(200);
    expect((await gw.request({ path: '/hello', headers: { 'x-skiff-async': 'false' } })).status).toBe(200);
    expect(gw.accepted).toHaveLength(1);
    expect(gw.invocations).toHaveLength(2);
  });

  it('refuses an async call to an unknown function with 404 rather than a 202', async () => {
    const gw = gateway();
    const res = await gw.request({ path: '/missing', headers: { 'x-skiff-async': 'true' } });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    expect(gw.accepted).toEqual([]);
  });

  it('passes an allowed X-Callback-Url on, and refuses another before queueing', async () => {
    const gw = gateway();
    const hook = 'https://hooks.example/done';
    await gw.request({ path: '/hello', headers: { 'x-skiff-async': 'true', 'x-callback-url': hook } });
    expect(gw.accepted[0]?.callbackUrl).toBe(hook);
    const res = await gw.request({
      path: '/hello',
      headers: { 'x-skiff-async': 'true', 'x-callback-url': 'http://169.254.169.254/' },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('SKIFF_E_FORBIDDEN_DESTINATION');
    expect(gw.accepted).toHaveLength(1);
  });

  it("caps an async body at the queue's own limit", async () => {
    const gw = gateway();
    const within = await gw.request({
      path: '/hello',
      headers: { 'x-skiff-async': 'true' },
      body: Buffer.alloc(2048),
    });
    expect(within.status).toBe(202);
    const over = await gw.request({
      path: '/hello',
      headers: { 'x-skiff-async': 'true' },
      body: Buffer.alloc(2049),
    });
    expect(over.status).toBe(413);
    expect(gw.accepted).toHaveLength(1);
  });
});

describe('HTTP gateway: caps', () => {
  it('refuses a body over maxBodyBytes with 413 SKIFF_E_PAYLOAD_TOO_LARGE and closes, declared or streamed', async () => {
    const gw = gateway();
    expect((await gw.request({ method: 'POST', path: '/hello', body: Buffer.alloc(1024) })).status).toBe(200);
    for (const chunked of [false, true]) {
      const res = await gw.request({ method: 'POST', path: '/hello', body: Buffer.alloc(1025), chunked });
      expect(res.status, `chunked ${chunked}`).toBe(413);
      expect(errorOf(res).code).toBe('SKIFF_E_PAYLOAD_TOO_LARGE');
      expect(res.headers['connection']).toBe('close');
    }
    expect(gw.invocations).toHaveLength(1);
  });

  it('answers a client over maxInFlightPerAddress with 429 and Retry-After; other clients pass', async () => {
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const gw = gateway(
      async () => {
        calls += 1;
        if (calls === 1) {
          started();
          await gate;
        }
        return ok('done');
      },
      { maxInFlightPerAddress: 1 },
    );
    const first = gw.request({ path: '/hello', remoteAddress: '10.0.0.1' });
    await running;
    const second = await gw.request({ path: '/hello', remoteAddress: '10.0.0.1' });
    expect(second.status).toBe(429);
    expect(errorOf(second).code).toBe('SKIFF_E_TOO_MANY_REQUESTS');
    expect(second.headers['retry-after']).toBe('1');
    expect((await gw.request({ path: '/hello', remoteAddress: '10.0.0.2' })).status).toBe(200);
    release();
    expect((await first).status).toBe(200);
    // the first one's slot is given back on its response's 'close', queued (nextTick) before the client
    // read the end: one turn of the event loop (no I/O is pending in memory) has run it
    await new Promise((resolve) => setImmediate(resolve));
    expect((await gw.request({ path: '/hello', remoteAddress: '10.0.0.1' })).status).toBe(200);
  });
});
