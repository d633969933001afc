import { spawnSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHeaderName, tinyfaasHeaders } from '../src/compat/tinyfaas/headers.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const SIEVE = 'Found 1229 primes under 10000\n';

/** One raw HTTP request (fetch would join a header sent twice into one). */
function rawRequest(
  url: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('tinyFaaS header names', () => {
  const cases: [string, string][] = [
    ['lab', 'Lab'],
    ['user-agent', 'User-Agent'],
    ['X-TINYFAAS-ASYNC', 'X-Tinyfaas-Async'],
    [':authority', 'Authority'],
    ['a(b)c<d>@e,f;g"h/i[j]k?l=m{n}o p\tq', 'Abcdefghijklmnopq'],
    ['x--y', 'X--Y'],
    ['9-lives', '9-Lives'],
  ];

  it('TypeScript: strips the separators and canonicalises', () => {
    for (const [name, want] of cases) expect(canonicalHeaderName(name)).toBe(want);
  });

  it('TypeScript: keeps the first value of a name, lower case for Node', () => {
    const pairs: [string, string][] = [
      ['Lab', 'one'],
      ['lab', 'two'],
      ['user-agent', 'ua'],
      ['()', 'dropped'],
    ];
    expect(tinyfaasHeaders(pairs, 'canonical')).toEqual({ Lab: 'one', 'User-Agent': 'ua' });
    expect(tinyfaasHeaders(pairs, 'lower')).toEqual({ lab: 'one', 'user-agent': 'ua' });
  });

  it('Python: the same rules', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(path.resolve('runtimes/python'))})`,
      'from skiff_tinyfaas import canonical_header_name, tinyfaas_headers',
      'cases = json.loads(sys.argv[1])',
      'names = [canonical_header_name(n) for n, _ in cases]',
      'h = tinyfaas_headers([("Lab", "one"), ("lab", "two"), ("user-agent", "ua"), ("()", "x")])',
      'print(json.dumps({"names": names, "headers": h}))',
    ].join('\n');
    const out = spawnSync('python3', ['-c', script, JSON.stringify(cases)], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const parsed = JSON.parse(out.stdout) as { names: string[]; headers: Record<string, string> };
    expect(parsed.names).toEqual(cases.map(([, want]) => want));
    expect(parsed.headers).toEqual({ Lab: 'one', 'User-Agent': 'ua' });
  });
});

describe('tinyFaaS function flavors', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      sieve: 'tf-sieve',
      echo: 'tf-echo',
      echojs: 'tf-echojs',
      echobinary: 'tf-echobinary',
      headersjs: 'tf-headersjs',
      headers: 'tf-headers',
      pymisc: 'tf-py-misc',
      jsmisc: 'tf-js-misc',
      binfail: 'tf-bin-fail',
      never: 'tf-js-never',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it.each(['echo', 'echojs', 'echobinary'])('%s echoes a POSTed body unchanged', async (name) => {
    const res = await p.call(`/${name}`, { method: 'POST', body: 'Hello World!' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Hello World!');
  });

  it('sieve answers a GET with the sieve line as text', async () => {
    const res = await p.call('/sieve');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(SIEVE);
  });

  it('python sees canonical header names, the first value only', async () => {
    const res = await rawRequest(`${p.httpUrl}/headers`, { lab: ['x', 'second'], 'user-agent': 'tf-test/1' });
    expect(res.status).toBe(200);
    const headers = JSON.parse(res.body) as Record<string, string>;
    expect(headers['Lab']).toBe('x');
    expect(headers['User-Agent']).toBe('tf-test/1');
    expect(headers['lab']).toBeUndefined();
  });

  it('node sees lower-case header names, the first value only', async () => {
    const res = await rawRequest(`${p.httpUrl}/headersjs`, {
      Lab: ['x', 'second'],
      'User-Agent': 'tf-test/1',
    });
    expect(res.status).toBe(200);
    const headers = JSON.parse(res.body) as Record<string, string>;
    expect(headers['lab']).toBe('x');
    expect(headers['user-agent']).toBe('tf-test/1');
    expect(headers['Lab']).toBeUndefined();
  });

  it('fetch headers reach python canonical too', async () => {
    const res = await p.call('/headers', { headers: { lab: 'x' } });
    const headers = (await res.json()) as Record<string, string>;
    expect(headers['Lab']).toBe('x');
    expect(typeof headers['User-Agent']).toBe('string');
  });

  it('python: one-argument fn, empty body is None, None is an empty 200, bytes pass', async () => {
    const one = await p.call('/pymisc', { method: 'POST', body: 'hi' });
    expect(one.status).toBe(200);
    expect(await one.text()).toBe('one arg: hi');
    const empty = await p.call('/pymisc', { method: 'POST' });
    expect(await empty.text()).toBe('no input');
    const none = await p.call('/pymisc', { method: 'POST', body: 'none' });
    expect(none.status).toBe(200);
    expect(await none.text()).toBe('');
    const bytes = await p.call('/pymisc', { method: 'POST', body: 'bytes' });
    expect(Buffer.from(await bytes.arrayBuffer())).toEqual(Buffer.from([0, 1]));
  });

  it('python: an exception is a 500 carrying str(e); other return types are errors', async () => {
    const res = await p.call('/pymisc', { method: 'POST', body: 'raise' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('bad');
    expect(text).toContain('SKIFF_E_FUNCTION_ERROR');
    const dict = await p.call('/pymisc', { method: 'POST', body: 'dict' });
    expect(dict.status).toBe(500);
    expect(await dict.text()).toContain('return a str, bytes or None');
  });

  it('binary: a non-zero exit is a 500 "exit status 3"; stderr goes to the logs only', async () => {
    const res = await p.call('/binfail', { method: 'POST', body: 'x' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('exit status 3');
    expect(text).not.toContain('oops on stderr');
    const logs = await p.logs('binfail');
    expect(logs.some((l) => l.message.includes('oops on stderr'))).toBe(true);
  });

  it('node: a throw or a rejected promise is a 500 carrying the message', async () => {
    const thrown = await p.call('/jsmisc/throw');
    expect(thrown.status).toBe(500);
    expect(await thrown.text()).toContain('node says no');
    const rejected = await p.call('/jsmisc/reject');
    expect(rejected.status).toBe(500);
    expect(await rejected.text()).toContain('async no');
  });

  it('node: status, set and json chain; end may come later; non-UTF-8 Buffers are octets', async () => {
    const res = await p.call('/jsmisc/status?q=1', { method: 'PUT' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-flavor')).toBe('tinyfaas');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ method: 'PUT', q: '1', url: '/status?q=1' });
    const later = await p.call('/jsmisc/later');
    expect(await later.text()).toBe('ended later');
    const octets = await p.call('/jsmisc/bytes');
    expect(octets.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await octets.arrayBuffer())).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('node: a package named fn with dependencies builds, and its main is the handler', async () => {
    const dir = path.join(await makeDataDir(), 'tf-with-dep');
    try {
      await cp(fixture('tf-with-dep'), dir, { recursive: true });
      await mkdir(path.join(dir, 'vendor'));
      const file = path.join(dir, 'vendor', 'shout-1.0.0.tgz');
      await tar.c({ gzip: true, file, cwd: fixture('dep-pkg'), prefix: 'package' }, [
        'package.json',
        'index.js',
      ]);
      const res = await p.deploy('withdep', dir);
      expect(res.status, await res.clone().text()).toBe(201);
      const call = await p.call('/withdep', { method: 'POST', body: 'quiet' });
      expect(await call.text()).toBe('QUIET!');
    } finally {
      await removeDir(path.dirname(dir));
    }
  });

  it('node: a handler that never ends the response runs into the function timeout', async () => {
    const res = await p.call('/never');
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_TIMEOUT');
    expect((await p.logs('never')).some((l) => l.message.includes('answering never'))).toBe(true);
  });

  it('refuses an unknown flavor at deploy, naming the known ones, and a malformed name', async () => {
    const dir = path.join(p.dataDir, 'unknown-flavor');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'index.js'), 'export default () => "hi";\n');
    for (const [flavor, message] of [
      ['nope', 'flavor: unknown flavor "nope"; use one of native, tinyfaas'],
      ['No Pe', 'flavor: a flavor name is lower-case letters, digits and dashes'],
    ] as const) {
      await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ runtime: 'node', flavor }));
      const res = await p.deploy('unknownflavor', dir);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(error.message).toContain(`skiff.json is invalid: ${message}`);
    }
    expect((await p.api('/v1/functions/unknownflavor')).status).toBe(404);
  });
});
