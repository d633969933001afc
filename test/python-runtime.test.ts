import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TMP_PREFIX, removeDir, startPlatform, type TestPlatform, fixture } from './helpers/platform.js';
import { quietFor } from './helpers/wait.js';
import { buildWheel } from './helpers/wheels.js';

const MiB = 1024 * 1024;

interface LogLine {
  message: string;
  stream: string;
  level: string;
  invocationId?: string;
}

describe('Python runtime', () => {
  let p: TestPlatform;
  let wheelDir: string;
  const deployed: Record<string, unknown> = {};

  const logsOf = async (name: string): Promise<LogLine[]> => {
    const body = (await (await p.api(`/v1/functions/${name}/logs?limit=1000`)).json()) as { logs: LogLine[] };
    return body.logs;
  };

  beforeAll(async () => {
    wheelDir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    // builds run as an unprivileged user: an operator's wheel folder must be readable by it
    await chmod(wheelDir, 0o755);
    buildWheel(wheelDir);
    p = await startPlatform({
      config: {
        http: { maxBodyBytes: 2 * MiB },
        build: { pipArgs: ['--no-index', '--find-links', wheelDir] },
      },
    });
    for (const name of [
      'py-echo',
      'py-respond',
      'py-throws',
      'py-logs',
      'py-async',
      'py-sleep',
      'py-timeout',
    ]) {
      const res = await p.deploy(name, fixture(name));
      const text = await res.text();
      expect(res.status, text).toBe(201);
      deployed[name] = JSON.parse(text);
    }
  });

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
    if (wheelDir !== undefined) await removeDir(wheelDir);
  });

  it('stores the handler as file.py:function and reports the python instance', async () => {
    const fn = (await (await p.api('/v1/functions/py-timeout')).json()) as {
      function: { runtime: string; versions: { buildLog: string }[] };
    };
    expect(fn.function.runtime).toBe('python');
    expect(fn.function.versions[0]?.buildLog).toContain('entry: app.py, function on_request');
  });

  it('passes method, path, query, headers, body and ctx to the handler', async () => {
    const res = await p.call('/py-echo/a/b%20c?x=1&y=two&y=three&empty=', {
      method: 'PATCH',
      headers: { 'X-Custom': 'value', 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'wörld' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const invocationId = res.headers.get('x-skiff-invocation-id');
    const echo = (await res.json()) as Record<string, unknown>;
    expect(echo).toMatchObject({
      method: 'PATCH',
      path: '/a/b%20c',
      query: { x: '1', y: 'two', empty: '' },
      query_all: { x: ['1'], y: ['two', 'three'], empty: [''] },
      query_string: 'x=1&y=two&y=three&empty=',
      custom: 'value',
      body: '{"hello":"wörld"}',
      json: { hello: 'wörld' },
      function: 'py-echo',
      version: 1,
      invocationId,
      trigger: 'http',
      env: 'ahoy',
      osEnv: 'ahoy',
    });
    expect(echo['headers']).toMatchObject({ 'x-custom': 'value', 'content-type': 'application/json' });
    expect(echo['deadline']).toBeGreaterThan(Date.now());
    expect(String(echo['url'])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/a\/b%20c\?x=1/);
    expect(String(echo['cwd'])).toContain('py-echo');
  });

  it('serves /{name} alone with path / and an empty body', async () => {
    const echo = (await (await p.call('/py-echo')).json()) as Record<string, unknown>;
    expect(echo).toMatchObject({ method: 'GET', path: '/', query: {}, query_string: '', body: '' });
  });

  it('round-trips random binary bytes unchanged', async () => {
    const bytes = randomBytes(MiB + 17);
    const res = await p.call('/py-respond/binary', { method: 'POST', body: bytes });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('returns status and headers from a Response, and from a (body, status, headers) tuple', async () => {
    const res = await p.call('/py-respond/created');
    expect(res.status).toBe(201);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.get('location')).toBe('/created/1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('made');
    const tuple = await p.call('/py-respond/tuple');
    expect(tuple.status).toBe(404);
    expect(tuple.headers.get('x-why')).toBe('tuple');
    expect(await tuple.text()).toBe('nope');
  });

  it('maps plain return values: str, bytes, None, dict', async () => {
    const text = await p.call('/py-respond/text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe('plain text');
    const bytes = await p.call('/py-respond/bytes');
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    const nothing = await p.call('/py-respond/nothing');
    expect(nothing.status).toBe(204);
    expect(await (await p.call('/py-respond/other')).json()).toEqual({ ok: true });
    const unicode = await p.call('/py-respond/unicode');
    expect(unicode.headers.get('content-type')).toBe('application/json');
    expect(await unicode.json()).toEqual({ word: 'grüße' });
  });

  it('answers 502 SKIFF_E_BAD_RESPONSE for a value JSON cannot encode, and for a body over the limit', async () => {
    const bad = await p.call('/py-respond/bad');
    expect(bad.status).toBe(502);
    expect(await bad.json()).toMatchObject({
      error: { code: 'SKIFF_E_BAD_RESPONSE', message: expect.stringContaining('JSON') as unknown },
    });
    const big = await p.call(`/py-respond/big?n=${6 * MiB + 1}`);
    expect(big.status).toBe(502);
    expect(await big.json()).toMatchObject({
      error: { code: 'SKIFF_E_BAD_RESPONSE', message: expect.stringContaining('exceeds') as unknown },
    });
  });

  it('answers 500 SKIFF_E_FUNCTION_ERROR without the traceback; the traceback goes to the logs', async () => {
    const res = await p.call('/py-throws');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'SKIFF_E_FUNCTION_ERROR' } });
    expect(text).not.toContain('py-stack-marker-4417');
    expect(text).not.toContain('main.py');
    const invocationId = res.headers.get('x-skiff-invocation-id');
    const logs = await logsOf('py-throws');
    const entry = logs.find((l) => l.message.includes('py-stack-marker-4417'));
    expect(entry?.invocationId).toBe(invocationId);
    expect(entry?.message).toContain('Traceback (most recent call last)');
    expect(entry?.message).toContain('main.py", line 3, in fail');
    expect(entry?.message).toContain('ValueError: boom: py-stack-marker-4417');
    expect(entry?.message).not.toContain('bridge.py');
    const printed = logs.find((l) => l.message === 'about to fail');
    expect(printed?.invocationId).toBe(invocationId);
    // The instance survives.
    expect((await p.call('/py-respond/text')).status).toBe(200);
  });

  it('turns print, stderr writes and ctx.log into log lines of the invocation', async () => {
    const [a, b] = await Promise.all([p.call('/py-logs?tag=A'), p.call('/py-logs?tag=B')]);
    expect(await a.text()).toBe('A');
    expect(await b.text()).toBe('B');
    const logs = await logsOf('py-logs');
    for (const [tag, res] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const id = res.headers.get('x-skiff-invocation-id');
      const mine = logs.filter((l) => l.invocationId === id);
      expect(mine.map((l) => [l.stream, l.message])).toEqual([
        ['stdout', `print-line ${tag}`],
        ['stderr', `to-stderr ${tag}`],
        ['stdout', `first ${tag} \nsecond ${tag}`],
        ['log', `ctx-log ${tag} 42`],
        ['stdout', `partial-${tag}`],
      ]);
    }
    const load = logs.find((l) => l.message === 'module loaded: py-logs-load-marker');
    expect(load).toBeDefined();
    expect(load?.invocationId).toBeUndefined();
  });

  it('runs async handlers on the event loop', async () => {
    const res = await p.call('/py-async?tag=t1', { method: 'POST', body: '[1,2]' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ async: true, body: [1, 2] });
    const logs = await logsOf('py-async');
    const line = logs.find((l) => l.message === 'async-print t1');
    expect(line?.invocationId).toBe(res.headers.get('x-skiff-invocation-id'));
  });

  it('runs 4 blocking sync calls concurrently on one instance', async () => {
    await p.call('/py-sleep?s=0'); // the instance is warm
    const started = Date.now();
    const results = (await Promise.all(
      Array.from({ length: 4 }, () =>
        p.call('/py-sleep?s=0.5', { signal: AbortSignal.timeout(10_000) }).then((r) => r.json()),
      ),
    )) as { instance: string; thread: number }[];
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1500);
    expect(new Set(results.map((r) => r.instance)).size).toBe(1);
    expect(new Set(results.map((r) => r.thread)).size).toBe(4);
  });

  it('cancels async and sync handlers after the timeout; the instance keeps serving', async () => {
    const before = (await (await p.call('/py-timeout/pid')).json()) as { instance: string };
    const slowAsync = await p.call('/py-timeout/async');
    expect(slowAsync.status).toBe(504);
    const slowSync = await p.call('/py-timeout/sync');
    expect(slowSync.status).toBe(504);
    // PING after the timeout is answered from the event loop, so the instance is not killed as hung.
    await quietFor(1200, 'the health PINGs after the timeout: the instance must not be killed as hung');
    const after = (await (await p.call('/py-timeout/pid')).json()) as { instance: string };
    expect(after.instance).toBe(before.instance);
  });

  it('installs requirements.txt from a local wheel at deploy', async () => {
    const res = await p.deploy('py-dep', fixture('py-dep'));
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const body = JSON.parse(text) as { version: { buildLog: string } };
    expect(body.version.buildLog).toContain('-m pip install --target');
    expect(body.version.buildLog).toContain('Successfully installed skiffdemo-1.0');
    const call = await p.call('/py-dep?name=skiff');
    expect(call.status).toBe(200);
    const out = (await call.json()) as { greeting: string; from: string };
    expect(out.greeting).toBe('hello skiff from skiffdemo');
    expect(out.from).toContain(path.join('.skiff', 'python', 'skiffdemo'));
  });

  it('fails the deploy with 422 and the compiler message on a syntax error', async () => {
    const res = await p.deploy('py-syntax', fixture('py-syntax'));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(body.error.message).toContain('main.py');
    expect(body.error.message).toMatch(/SyntaxError/);
    expect(body.error.message).toContain('line 2');
  });

  it('fails the deploy with SKIFF_E_HANDLER_NOT_FOUND naming the files it looked for', async () => {
    const res = await p.deploy('py-none', fixture('py-dep'), '?runtime=python&handler=missing.py');
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      error: { code: 'SKIFF_E_HANDLER_NOT_FOUND', message: expect.stringContaining('missing.py') as unknown },
    });
  });

  it('fails the deploy when the handler function is missing (INIT_ERROR at start)', async () => {
    const res = await p.deploy('py-nofn', fixture('py-echo'), '?handler=main.py:nope');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain('nope');
  });
});
