import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor, waitUntil } from './helpers/wait.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One raw HTTP request, so the test sets Host itself (fetch does not let it). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const NO_RETURN = 'Return statement missing. return context.res.empty() if no response is expected.';
const NATIVE = 'Native logs detected. Use context.log() or context.error() for better experience.';
const CUT = '... Log truncated due to size limit (8000 characters)';

describe('Open Runtimes Python rules (skiff_openruntimes.py)', () => {
  it('query, host, log and response rules on their own', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(path.resolve('runtimes/python'))})`,
      'import skiff_openruntimes as o',
      'r = o.to_response({"body": "x", "headers": {"Set-Cookie": ["a=1", "b=2"], "X-Open-Runtimes-A": "1"}})',
      'bad = []',
      'for out in ({"statusCode": 99}, {"body": 5}, "text"):',
      '    try:',
      '        o.to_response(out)',
      '    except (TypeError, ValueError) as e:',
      '        bad.append(type(e).__name__)',
      'print(json.dumps({',
      '  "query": o.parse_query("a=1&&=z&b&a=2&c=%20"),',
      '  "hosts": [o.split_host(h, 80) for h in ("h:3001", "h", "[::1]:8080", "[::1]", "h:x")],',
      '  "log": o.format_log(["a", 1, None, {"k": [1]}, (1, 2), {1, 2} and "set"]),',
      '  "cut": len(o.format_log(["y" * 8001])),',
      '  "res": [r.status, r.headers, r.body.decode()],',
      '  "bad": bad,',
      '}))',
    ].join('\n');
    const out = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      query: { a: '2', b: '', c: '%20' },
      hosts: [
        ['h', 3001],
        ['h', 80],
        ['[::1]', 8080],
        ['[::1]', 80],
        ['h:x', 80],
      ],
      log: 'a 1 None {"k":[1]} [1,2] set',
      cut: 8000 + CUT.length,
      res: [
        200,
        [
          ['content-type', 'text/plain; charset=utf-8'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ],
        'x',
      ],
      bad: ['ValueError', 'TypeError', 'TypeError'],
    });
  });
});

describe('Open Runtimes functions in Python (flavor openruntimes)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ orsync: 'or-py-sync', orasync: 'or-py-async' });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('runs a sync main(context) and an async one through the gateway', async () => {
    const sync = await p.call('/orsync', { method: 'PUT' });
    expect(sync.status).toBe(200);
    expect(await sync.text()).toBe('sync PUT');
    const async = await p.call('/orasync?x=1');
    expect(async.status).toBe(200);
    expect(async.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await async.text()).toBe('{"async":true,"q":{"x":"1"}}');
    await waitUntil('the async log line', async () =>
      (await p.logs('orasync')).some((l) => l.message === 'async log'),
    );
  });

  it('a raise is a 500 with an empty body and the traceback in the logs (point 11)', async () => {
    for (const name of ['orsync', 'orasync']) {
      const res = await p.call(`/${name}/raise`);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('');
    }
    await waitUntil('the sync traceback in the logs', async () =>
      (await p.logs('orsync')).some(
        (l) => l.message.includes('Traceback') && l.message.includes('ValueError: open runtimes says no'),
      ),
    );
    await waitUntil('the async traceback in the logs', async () =>
      (await p.logs('orasync')).some((l) => l.message.includes('RuntimeError: async open runtimes says no')),
    );
  });

  it('no return is a 500 with an empty body, logging the missing return (point 11)', async () => {
    for (const name of ['orsync', 'orasync']) {
      const res = await p.call(`/${name}/none`);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('');
      await waitUntil(`the missing return in ${name}'s logs`, async () =>
        (await p.logs(name)).some((l) => l.message === NO_RETURN),
      );
    }
  });

  it('a module without main fails to start, with upstream message (point 11)', async () => {
    const res = await p.deploy('ornomain', fixture('or-py-nomain'));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain(
      "Function signature invalid. Did you forget to export a 'main' function?",
    );
  });

  it('content types: text, json, empty, redirect, binary, send and the charset rules (point 14)', async () => {
    const text = await p.call('/orsync/text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('x-demo')).toBe('1');
    expect(await text.text()).toBe('hello');
    const json = await p.call('/orsync/json');
    expect(json.status).toBe(201);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.text()).toBe('{"a":1,"b":[1,2]}');
    const empty = await p.call('/orsync/empty');
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    const redirect = await p.call('/orsync/redirect', { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('https://example.com/next');
    const binary = await p.call('/orsync/binary');
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 255, 1]));
    const send = await p.call('/orsync/send');
    expect(send.status).toBe(202);
    expect(await send.text()).toBe('sent');
    const cases: [string, string][] = [
      ['text/html; charset=iso-8859-1', 'text/html; charset=iso-8859-1'],
      ['multipart/form-data; boundary=x', 'multipart/form-data; boundary=x'],
      ['text/plain; charset=UTF-8', 'text/plain; charset=utf-8'],
      ['Application/XML', 'application/xml; charset=utf-8'],
    ];
    for (const [given, sent] of cases) {
      const res = await p.call('/orsync/ctype', { headers: { 'x-type': given } });
      expect(res.headers.get('content-type'), given).toBe(sent);
    }
  });

  it('url, port and query from Host, x-forwarded-proto and the query string (point 15)', async () => {
    const one = await rawRequest(`${p.httpUrl}/orsync/req?c=d&e=f`, {
      headers: { host: 'h:3001', 'x-forwarded-proto': 'https', 'x-open-runtimes-secret': 'hidden' },
    });
    expect(one.status).toBe(200);
    const req = JSON.parse(one.body.toString()) as Record<string, unknown> & {
      headers: Record<string, string>;
    };
    expect(req).toMatchObject({
      method: 'GET',
      scheme: 'https',
      host: 'h',
      port: 3001,
      path: '/req',
      query_string: 'c=d&e=f',
      query: { c: 'd', e: 'f' },
      url: 'https://h:3001/req?c=d&e=f',
    });
    expect(req.headers['x-forwarded-proto']).toBe('https');
    expect(Object.keys(req.headers).some((k) => k.startsWith('x-open-runtimes-'))).toBe(false);
    const plain = await rawRequest(`${p.httpUrl}/orsync/req?h`, { headers: { host: 'example.com' } });
    expect(JSON.parse(plain.body.toString())).toMatchObject({
      scheme: 'http',
      port: 80,
      query: { h: '' },
      url: 'http://example.com/req?h',
    });
    const odd = await rawRequest(`${p.httpUrl}/orsync/req?a=b=c&a=last&%41=x`, {
      headers: { host: 'example.com:80', 'x-forwarded-proto': 'https' },
    });
    expect(JSON.parse(odd.body.toString())).toMatchObject({
      port: 80,
      query: { a: 'last', '%41': 'x' },
      url: 'https://example.com:80/req?a=b=c&a=last&%41=x',
    });
    const eq = await rawRequest(`${p.httpUrl}/orsync/req?a=b=c`, {
      headers: { host: 'h:443', 'x-forwarded-proto': 'https' },
    });
    expect(JSON.parse(eq.body.toString())).toMatchObject({
      port: 443,
      query: { a: 'b=c' },
      url: 'https://h/req?a=b=c',
    });
  });

  it('JSON bodies: empty is {} for body but body_json raises; invalid is a 500 (point 16)', async () => {
    const json = { 'content-type': 'application/json' };
    const empty = await p.call('/orsync/body', { method: 'POST', headers: json });
    expect(await empty.json()).toEqual({ body: {}, text: '', raw: '' });
    const emptyJson = await p.call('/orsync/body-json', { method: 'POST', headers: json });
    expect(emptyJson.status).toBe(500);
    expect(await emptyJson.text()).toBe('');
    const invalid = await p.call('/orsync/body', { method: 'POST', headers: json, body: '{nope' });
    expect(invalid.status).toBe(500);
    expect(await invalid.text()).toBe('');
    const obj = await p.call('/orsync/body-json', { method: 'POST', headers: json, body: '{}' });
    expect(obj.status).toBe(200);
    expect(await obj.text()).toBe('{"json":{}}');
    const parsed = await p.call('/orsync/body', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"n":[1,2]}',
    });
    expect(await parsed.json()).toEqual({ body: { n: [1, 2] }, text: '{"n":[1,2]}', raw: '{"n":[1,2]}' });
    const text = await p.call('/orsync/body', { method: 'POST', body: '0' });
    expect(await text.json()).toEqual({ body: '0', text: '0', raw: '0' });
    const bytes = await p.call('/orsync/body-binary', { method: 'POST', body: new Uint8Array([1, 0, 2]) });
    expect(Buffer.from(await bytes.arrayBuffer())).toEqual(Buffer.from([1, 0, 2]));
  });

  it('x-open-runtimes-* headers the function sets never reach the caller (point 18)', async () => {
    const res = await p.call('/orsync/secret-headers');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-kept')).toBe('k');
    // only the runtime's own log id (openruntimes-runtime-rules.test.ts), never the function's "mine"
    expect([...res.headers.keys()].filter((k) => k.startsWith('x-open-runtimes-'))).toEqual([
      'x-open-runtimes-log-id',
    ]);
    expect(res.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
  });

  it('context.log/error join their arguments, cut a write at 8000 chars; print follows a notice once', async () => {
    const res = await p.call('/orsync/logs');
    expect(await res.text()).toBe('logged');
    const logs = await waitFor('the printed lines', async () => {
      const all = await p.logs('orsync');
      return all.some((l) => l.message === 'printed twice') ? all : undefined;
    });
    const messages = logs.map((l) => l.message);
    expect(messages).toContain('plain 1 {"k":"v"} [1,2]');
    expect(messages).toContain('an error line');
    const levels = logs as unknown as { message: string; stream: string; level: string }[];
    expect(levels.find((l) => l.message === 'an error line')).toMatchObject({
      stream: 'log',
      level: 'error',
    });
    expect(levels.find((l) => l.message === 'printed once')).toMatchObject({ stream: 'stdout' });
    const long = messages.find((m) => m.startsWith('xxxx'));
    expect(long).toBe('x'.repeat(8000) + CUT);
    const notice = messages.indexOf(NATIVE);
    expect(notice).toBeGreaterThan(messages.indexOf('an error line'));
    expect(notice).toBeLessThan(messages.indexOf('printed once'));
    expect(messages.filter((m) => m === NATIVE)).toHaveLength(1);
  });
});
