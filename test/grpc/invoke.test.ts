/**
 * The gRPC trigger, skiff.v1.Invoker: what Node, Python and binary functions see of a call (method,
 * path, payload, metadata, the client's deadline), what the client gets back, the error statuses,
 * and server reflection. One platform serves every test.
 */
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import {
  invoke,
  InvokerClient,
  json,
  linesWith,
  ok,
  ReflectionClient,
  target,
  type InvokeRequest,
} from './setup.js';

const MiB = 1024 * 1024;

describe('gRPC trigger', () => {
  let p: TestPlatform;
  let client: Client;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      echo: 'echo-cjs',
      'py-echo': 'py-echo',
      'bin-echo': 'bin-echo',
      'py-respond': 'py-respond',
      throws: 'throws',
      sleepy: 'sleepy',
    });
    client = new InvokerClient(target(p), credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('publishes its endpoint as grpc://127.0.0.1:<port>', () => {
    expect(p.server.endpoints['grpc']).toMatch(/^grpc:\/\/127\.0\.0\.1:\d+$/);
  });

  it('invokes a Node function with method, path, query, payload and metadata as headers', async () => {
    const md = new Metadata();
    md.set('x-custom', 'value');
    md.add('x-multi', 'one');
    md.add('x-multi', 'two');
    md.set('x-trace-bin', Buffer.from([0, 1, 2]));
    md.set('grpc-custom-key', 'reserved');
    const outcome = await invoke(
      client,
      {
        function: 'echo',
        payload: Buffer.from('hello grpc'),
        method: 'PUT',
        path: '/a/b%20c?x=1&y=two',
        metadata: { 'content-type': 'text/plain', 'X-From-Message': 'm' },
      },
      { metadata: md },
    );
    const res = ok(outcome);
    expect(res.status).toBe(200);
    expect(res.metadata['content-type']).toBe('application/json');
    const echo = json(res);
    const invocationId = outcome.headers.get('skiff-invocation-id')[0];
    expect(invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo).toMatchObject({
      method: 'PUT',
      path: '/a/b%20c',
      query: '?x=1&y=two',
      body: 'hello grpc',
      function: 'echo',
      invocationId,
    });
    const headers = echo['headers'] as Record<string, string>;
    expect(headers).toMatchObject({
      'x-custom': 'value',
      'x-multi': 'one, two',
      'x-from-message': 'm',
      'content-type': 'text/plain',
    });
    // gRPC's own metadata and binary keys stay with gRPC
    for (const key of Object.keys(headers)) {
      expect(key).not.toMatch(/^grpc-|-bin$|^:|^te$|^user-agent$/);
    }
    expect(headers['content-type']).not.toContain('application/grpc');
  });

  it('defaults the method to POST and the path to /', async () => {
    const echo = json(ok(await invoke(client, { function: 'echo' })));
    expect(echo).toMatchObject({ method: 'POST', path: '/', query: '', body: '' });
  });

  it('invokes a Python function; it sees the trigger, the headers and the client deadline', async () => {
    const md = new Metadata();
    md.set('x-custom', 'from-metadata');
    const before = Date.now();
    const res = ok(
      await invoke(
        client,
        {
          function: 'py-echo',
          payload: Buffer.from(JSON.stringify({ n: 7 })),
          metadata: { 'content-type': 'application/json' },
          path: '/py?k=v',
        },
        { metadata: md, timeoutMs: 20_000 },
      ),
    );
    expect(res.status).toBe(200);
    const echo = json(res);
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/py',
      query: { k: 'v' },
      custom: 'from-metadata',
      json: { n: 7 },
      trigger: 'grpc',
      function: 'py-echo',
    });
    // the function's deadline is the client's, not its own 30 s timeout
    const deadline = echo['deadline'] as number;
    expect(deadline).toBeGreaterThan(before);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 20_000);
  });

  it('invokes a binary function: the body comes back, its headers as response metadata', async () => {
    const md = new Metadata();
    md.set('x-custom', 'bin-value');
    const res = ok(
      await invoke(
        client,
        {
          function: 'bin-echo',
          payload: Buffer.from('raw bytes'),
          method: 'PATCH',
          path: '/p/q?z=9',
          metadata: { 'content-type': 'text/x-thing' },
        },
        { metadata: md },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.payload.toString()).toBe('raw bytes');
    expect(res.metadata).toMatchObject({
      'x-method': 'PATCH',
      'x-path': '/p/q',
      'x-query': 'z=9',
      'x-custom': 'bin-value',
      'x-content-type': 'text/x-thing',
      'x-function': 'bin-echo',
    });
  });

  it('round-trips random binary payload bytes unchanged', async () => {
    const bytes = randomBytes(MiB + 17);
    const res = ok(await invoke(client, { function: 'bin-echo', payload: bytes }));
    expect(res.payload.length).toBe(bytes.length);
    expect(res.payload.equals(bytes)).toBe(true);
  });

  it("returns a function's own non-2xx status as a response, not an error", async () => {
    const res = ok(await invoke(client, { function: 'py-respond', path: '/tuple', method: 'GET' }));
    expect(res.status).toBe(404);
    expect(res.payload.toString()).toBe('nope');
    expect(res.metadata['x-why']).toBe('tuple');
  });

  it('joins repeated response headers with ", "', async () => {
    const res = ok(await invoke(client, { function: 'py-respond', path: '/created' }));
    expect(res.status).toBe(201);
    expect(res.metadata).toMatchObject({
      'x-custom': 'yes',
      location: '/created/1',
      'set-cookie': 'a=1, b=2',
    });
  });

  it('answers NOT_FOUND for an unknown function, and nothing runs', async () => {
    const before = await linesWith(p, 'echo', 'echo called');
    const outcome = await invoke(client, { function: 'nope', payload: Buffer.from('x') });
    expect(outcome.error?.code).toBe(status.NOT_FOUND);
    expect(outcome.error?.details).toContain('nope');
    expect(outcome.trailers.get('skiff-error-code')).toEqual(['SKIFF_E_FUNCTION_NOT_FOUND']);
    expect(outcome.headers.get('skiff-invocation-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect((await p.api('/v1/functions/nope')).status).toBe(404);
    expect(await linesWith(p, 'echo', 'echo called')).toBe(before);
  });

  it('answers INVALID_ARGUMENT for a missing or malformed function name, path or metadata', async () => {
    const cases: [InvokeRequest, string][] = [
      [{}, 'SKIFF_E_INVALID_NAME'],
      [{ function: 'Not A Name' }, 'SKIFF_E_INVALID_NAME'],
      [{ function: 'echo', path: 'no-slash' }, 'SKIFF_E_INVALID_REQUEST'],
      [{ function: 'echo', path: '/with space' }, 'SKIFF_E_INVALID_REQUEST'],
      [{ function: 'echo', method: 'GE T' }, 'SKIFF_E_INVALID_REQUEST'],
      [{ function: 'echo', metadata: { 'x-bad': 'a\r\nx-injected: 1' } }, 'SKIFF_E_INVALID_REQUEST'],
      [{ function: 'echo', metadata: { 'bad key': 'v' } }, 'SKIFF_E_INVALID_REQUEST'],
    ];
    const before = await linesWith(p, 'echo', 'echo called');
    for (const [req, code] of cases) {
      const outcome = await invoke(client, req);
      expect(outcome.error?.code, JSON.stringify(req)).toBe(status.INVALID_ARGUMENT);
      expect(outcome.trailers.get('skiff-error-code'), JSON.stringify(req)).toEqual([code]);
      expect(outcome.error?.details.length).toBeGreaterThan(10);
    }
    expect(await linesWith(p, 'echo', 'echo called')).toBe(before);
  });

  it('honours the client deadline: DEADLINE_EXCEEDED, the platform stops the call, the next one is served', async () => {
    expect(ok(await invoke(client, { function: 'sleepy' })).status).toBe(200);
    const outcome = await invoke(client, { function: 'sleepy', path: '/?ms=3000' }, { timeoutMs: 500 });
    expect(outcome.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(outcome.ms).toBeLessThan(1_500);
    // the executor capped the function's 30 s timeout by the deadline (its log says so)
    const id = outcome.headers.get('skiff-invocation-id')[0];
    const timedOut = await waitFor(
      'the timeout in the log',
      async () =>
        (await p.logs('sleepy')).find((l) => l.invocationId === id && l.message.includes('timed out'))
          ?.message,
      4_000,
    );
    expect(timedOut).toMatch(/timed out after \d+ ms/);
    expect(Number(/after (\d+) ms/.exec(timedOut ?? '')?.[1])).toBeLessThanOrEqual(500);
    const healthy = ok(await invoke(client, { function: 'sleepy', path: '/?ms=10' }));
    expect(healthy.status).toBe(200);
    expect(json(healthy)).toHaveProperty('instance');
  });

  it('answers INTERNAL with skiff-error-code SKIFF_E_FUNCTION_ERROR when the function throws, without its stack', async () => {
    const outcome = await invoke(client, { function: 'throws' });
    expect(outcome.error?.code).toBe(status.INTERNAL);
    expect(outcome.trailers.get('skiff-error-code')).toEqual(['SKIFF_E_FUNCTION_ERROR']);
    expect(outcome.error?.details).toMatch(/threw an error/);
    expect(outcome.error?.details).not.toContain('stack-marker-7731');
    expect(outcome.error?.details).not.toContain('index.mjs');
    // the instance survives, and other functions are unaffected
    expect(ok(await invoke(client, { function: 'echo' })).status).toBe(200);
  });

  it('lists skiff.v1.Invoker through server reflection', async () => {
    const reflection = new ReflectionClient(target(p), credentials.createInsecure());
    try {
      const services = await new Promise<string[]>((resolve, reject) => {
        const stream = (
          reflection as unknown as { ServerReflectionInfo(): NodeJS.ReadWriteStream }
        ).ServerReflectionInfo();
        stream.on('data', (msg: { listServicesResponse?: { service: { name: string }[] } }) => {
          resolve((msg.listServicesResponse?.service ?? []).map((s) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ listServices: '' } as never);
      });
      expect(services).toContain('skiff.v1.Invoker');
    } finally {
      reflection.close();
    }
  });
});
