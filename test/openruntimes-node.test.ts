/**
 * Open Runtimes v5 Node functions (flavor `openruntimes`) deployed unchanged and called through the
 * Skiff gateway: the request and response rules, failures and logging of the Open Runtimes contract.
 */
import http from 'node:http';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokerClient, invoke, ok, target } from './grpc/setup.js';
import { fixture, removeDir, startPlatform, type LogLine, type TestPlatform } from './helpers/platform.js';
import { waitUntil } from './helpers/wait.js';

/** One raw HTTP request (fetch cannot set Host). */
function rawRequest(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

interface Seen {
  method: string;
  scheme: string;
  host: string;
  port: number;
  path: string;
  queryString: string;
  query: Record<string, string>;
  url: string;
  headers: Record<string, string>;
}

describe('Open Runtimes Node functions (flavor openruntimes)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      oresm: 'or-node-esm',
      orcjs: 'or-node-cjs',
      orsync: 'or-node-sync',
      caller: 'call-node',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  /** The function's log lines of one invocation. */
  async function linesOf(name: string, invocationId: string): Promise<LogLine[]> {
    return (await p.logs(name)).filter((l) => l.invocationId === invocationId);
  }

  it('runs ESM async, CommonJS async and CommonJS sync exports; the entrypoint is in the env', async () => {
    const esm = await p.call('/oresm', { method: 'PUT' });
    expect(await esm.text()).toBe('esm PUT');
    const cjs = await p.call('/orcjs', { method: 'POST', body: 'ping' });
    expect(cjs.status).toBe(200);
    expect(await cjs.json()).toEqual({ kind: 'cjs', text: 'ping', entrypoint: 'index.js' });
    const sync = await p.call('/orsync');
    expect(sync.status).toBe(200);
    expect(await sync.text()).toBe('sync GET');
  });

  it('another function reaches it with ctx.call, as any function', async () => {
    const res = await p.call('/caller/ping?peer=orcjs', { method: 'POST', body: 'hi' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kind: 'cjs', text: 'hi', entrypoint: 'index.js' });
  });

  it('answers over gRPC too', async () => {
    const grpc = new InvokerClient(target(p), credentials.createInsecure());
    try {
      const res = ok(await invoke(grpc, { function: 'orcjs', payload: Buffer.from('over gRPC') }));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.payload.toString())).toEqual({
        kind: 'cjs',
        text: 'over gRPC',
        entrypoint: 'index.js',
      });
    } finally {
      grpc.close();
    }
  });

  it('a throw is a 500 with an empty body, the stack in the error log (point 11)', async () => {
    const res = await p.call('/oresm/throw');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    const id = res.headers.get('x-skiff-invocation-id');
    expect(id).not.toBeNull();
    await waitUntil('the stack in the logs', async () =>
      (await linesOf('oresm', id ?? '')).some((l) => l.message.includes('or says no')),
    );
    const lines = await linesOf('oresm', id ?? '');
    const stack = lines.find((l) => l.message.includes('Error: or says no'));
    expect(stack?.stream).toBe('stderr');
    expect(stack?.message).toContain('index.js');
  });

  it('no return is a 500 with an empty body and the missing-return message (point 11)', async () => {
    const res = await p.call('/oresm/noreturn');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    const id = res.headers.get('x-skiff-invocation-id') ?? '';
    const want = 'Return statement missing. return context.res.empty() if no response is expected.';
    await waitUntil('the missing-return line', async () =>
      (await linesOf('oresm', id)).some((l) => l.message === want),
    );
    const lines = await linesOf('oresm', id);
    expect(lines.find((l) => l.message === want)?.stream).toBe('stderr');
    expect(lines.find((l) => l.message === 'about to return nothing')?.stream).toBe('stdout');
  });

  it('content types follow the response rules (point 14)', async () => {
    const text = await p.call('/oresm/text');
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe('hello');

    const json = await p.call('/oresm/json');
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.text()).toBe('{"a":1,"b":[1,2]}');

    const empty = await p.call('/oresm/empty');
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');

    const redirect = await p.call('/oresm/redirect', { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('https://example.com/next');

    const iso = await p.call('/oresm/iso');
    expect(iso.headers.get('content-type')).toBe('text/plain; charset=iso-8859-1');
    const multipart = await p.call('/oresm/multipart');
    expect(multipart.headers.get('content-type')).toBe('multipart/form-data; boundary=x');
    const upper = await p.call('/oresm/upper');
    expect(upper.status).toBe(201);
    expect(upper.headers.get('content-type')).toBe('text/html; charset=utf-8');

    const send = await p.call('/oresm/send');
    expect(send.status).toBe(202);
    expect(await send.text()).toBe('42');
    const binary = await p.call('/oresm/binary');
    expect(binary.headers.get('content-type')).toBe('application/octet-stream; charset=utf-8');
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('url, port, scheme and query come from Host, x-forwarded-proto and the raw query (point 15)', async () => {
    const seen = async (route: string, headers: Record<string, string>): Promise<Seen> => {
      const res = await rawRequest(`${p.httpUrl}/oresm${route}`, headers);
      expect(res.status).toBe(200);
      return JSON.parse(res.body) as Seen;
    };
    const a = await seen('/req?c=d&e=f', { host: 'h:3001', 'x-forwarded-proto': 'https' });
    expect(a).toMatchObject({
      scheme: 'https',
      host: 'h',
      port: 3001,
      path: '/req',
      queryString: 'c=d&e=f',
      query: { c: 'd', e: 'f' },
      url: 'https://h:3001/req?c=d&e=f',
      method: 'GET',
    });
    const b = await seen('/req?h', { host: 'example.com' });
    expect(b).toMatchObject({ scheme: 'http', port: 80, query: { h: '' }, url: 'http://example.com/req?h' });
    const c = await seen('/req?a=b=c&x=%20&x=2', { host: 'example.com:443', 'x-forwarded-proto': 'https' });
    expect(c.query).toEqual({ a: 'b=c', x: '2' });
    expect(c.port).toBe(443);
    expect(c.url).toBe('https://example.com/req?a=b=c&x=%20&x=2');
    const d = await seen('/req', { host: 'example.com:80' });
    expect(d).toMatchObject({ port: 80, url: 'http://example.com/req', query: {}, queryString: '' });
  });

  it('JSON bodies: empty is {} but bodyJson throws, invalid is a 500, {} is {} (point 16)', async () => {
    const json = { 'content-type': 'application/json' };
    const empty = await p.call('/oresm/body', { method: 'POST', headers: json });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({ body: {}, text: '', raw: '', size: 0 });
    const emptyJson = await p.call('/oresm/bodyjson', { method: 'POST', headers: json });
    expect(emptyJson.status).toBe(500);
    expect(await emptyJson.text()).toBe('');
    const invalid = await p.call('/oresm/body', { method: 'POST', headers: json, body: '{nope' });
    expect(invalid.status).toBe(500);
    expect(await invalid.text()).toBe('');
    const ok = await p.call('/oresm/bodyjson', { method: 'POST', headers: json, body: '{}' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('{}');
    const parsed = await p.call('/oresm/body', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"n":1}',
    });
    expect(((await parsed.json()) as { body: unknown }).body).toEqual({ n: 1 });
    const text = await p.call('/oresm/body', { method: 'POST', body: '{"n":1}' });
    expect(((await text.json()) as { body: unknown }).body).toBe('{"n":1}');
  });

  it('x-open-runtimes-* headers reach neither the function nor the caller (point 18)', async () => {
    const res = await p.call('/oresm/headers');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-custom')).toBe('Yes');
    // the function's forged log id is dropped; the runtime adds its own (openruntimes-runtime-rules.test.ts)
    expect(res.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
    expect(res.headers.get('x-open-runtimes-secret')).toBeNull();
    const req = await rawRequest(`${p.httpUrl}/oresm/req`, {
      'X-Open-Runtimes-Secret': 's',
      'X-Other': 'kept',
    });
    const seen = JSON.parse(req.body) as Seen;
    expect(seen.headers['x-other']).toBe('kept');
    expect(Object.keys(seen.headers).some((h) => h.startsWith('x-open-runtimes-'))).toBe(false);
  });

  it('context.log/error join arguments, cut at 8000 characters; native output follows one notice (point 13)', async () => {
    const res = await p.call('/oresm/log');
    expect(await res.text()).toBe('logged');
    const id = res.headers.get('x-skiff-invocation-id') ?? '';
    await waitUntil('the native lines', async () =>
      (await linesOf('oresm', id)).some((l) => l.message === 'native two'),
    );
    const lines = await linesOf('oresm', id);
    expect(lines.find((l) => l.message === 'plain {"b":1} 2')?.stream).toBe('stdout');
    expect(lines.find((l) => l.message === 'went wrong ["e"]')?.stream).toBe('stderr');
    const long = lines.find((l) => l.message.startsWith('xxxx'));
    expect(long?.message).toBe(`${'x'.repeat(8000)}... Log truncated due to size limit (8000 characters)`);
    const notice = 'Native logs detected. Use context.log() or context.error() for better experience.';
    const messages = lines.map((l) => l.message);
    expect(messages.filter((m) => m === notice)).toHaveLength(1);
    expect(messages.indexOf(notice)).toBeLessThan(messages.indexOf('native one'));
    // console.error goes to the logs too, as upstream's
    expect(lines.find((l) => l.message === 'native two')?.stream).toBe('stdout');
  });

  it('the native-logs notice comes once per invocation', async () => {
    const notice = 'Native logs detected. Use context.log() or context.error() for better experience.';
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await p.call('/orsync');
      expect(await res.text()).toBe('sync GET');
      ids.push(res.headers.get('x-skiff-invocation-id') ?? '');
    }
    for (const id of ids) {
      await waitUntil('the native lines', async () =>
        (await linesOf('orsync', id)).some((l) => l.message === 'second line'),
      );
      const messages = (await linesOf('orsync', id)).map((l) => l.message);
      expect(messages).toEqual([notice, 'sync native GET', 'second line']);
    }
  });

  it('a module exporting no function fails to start, saying so', async () => {
    const res = await p.deploy('ornoexport', fixture('or-node-noexport'));
    const text = await res.text();
    expect(res.status, text).toBe(422);
    expect(text).toContain('SKIFF_E_BUILD_FAILED');
    expect(text).toContain("Function signature invalid. Did you forget to export a 'main' function?");
  });
});
