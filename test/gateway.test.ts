import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { quietFor } from './helpers/wait.js';

const MiB = 1024 * 1024;

describe('HTTP gateway', () => {
  let p: TestPlatform;
  /** Host pids of a function's instances, from its status. */
  const instancePids = async (name: string): Promise<number[]> => {
    const body = (await (await p.api(`/v1/functions/${name}`)).json()) as {
      function: { instances: { pid: number }[] };
    };
    return body.function.instances.map((i) => i.pid);
  };

  beforeAll(async () => {
    p = await startPlatform({ config: { http: { maxBodyBytes: 2 * MiB } } });
    await p.deployAll({
      echo: 'echo-cjs',
      respond: 'respond-esm',
      throws: 'throws',
      barrier: 'barrier',
      crashy: 'crashy',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('passes method, path below the name, query, headers and body to the function', async () => {
    const res = await p.call('/echo/a/b%20c?x=1&y=two', {
      method: 'PATCH',
      headers: { 'x-custom': 'value', 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-skiff-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echo = (await res.json()) as Record<string, unknown>;
    expect(echo).toMatchObject({
      method: 'PATCH',
      path: '/a/b%20c',
      query: '?x=1&y=two',
      body: 'payload',
      function: 'echo',
      version: 1,
      invocationId: res.headers.get('x-skiff-invocation-id'),
    });
    expect(echo['headers']).toMatchObject({ 'x-custom': 'value', 'content-type': 'text/plain' });
  });

  it('serves /{name} alone with path /', async () => {
    const echo = (await (await p.call('/echo')).json()) as Record<string, unknown>;
    expect(echo).toMatchObject({ method: 'GET', path: '/', query: '', body: '' });
  });

  it('round-trips random binary bytes unchanged', async () => {
    const bytes = randomBytes(MiB + 17);
    const res = await p.call('/respond/binary', { method: 'POST', body: bytes });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("returns the function's status, headers and repeated set-cookie", async () => {
    const res = await p.call('/respond/created');
    expect(res.status).toBe(201);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.get('location')).toBe('/created/1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.text()).toBe('made');
  });

  it('maps plain return values: string, bytes, null, object', async () => {
    const text = await p.call('/respond/text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe('plain text');
    const bytes = await p.call('/respond/bytes');
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    const nothing = await p.call('/respond/nothing');
    expect(nothing.status).toBe(204);
    expect(await (await p.call('/respond/other')).json()).toEqual({ ok: true });
  });

  it('answers 404 with a JSON error for an unknown function', async () => {
    const res = await p.call('/no-such-function/x');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_FUNCTION_NOT_FOUND' } });
    const root = await p.call('/');
    expect(root.status).toBe(404);
  });

  it('answers 500 SKIFF_E_FUNCTION_ERROR without the stack; the stack goes to the logs', async () => {
    const res = await p.call('/throws');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'SKIFF_E_FUNCTION_ERROR' } });
    expect(text).not.toContain('stack-marker-7731');
    expect(text).not.toContain('index.mjs');
    const invocationId = res.headers.get('x-skiff-invocation-id');
    const logs = (await (await p.api('/v1/functions/throws/logs')).json()) as {
      logs: { message: string; invocationId?: string }[];
    };
    const entry = logs.logs.find((l) => l.message.includes('stack-marker-7731'));
    expect(entry?.invocationId).toBe(invocationId);
    expect(entry?.message).toContain('index.mjs');
    // The instance survives a thrown error.
    expect((await p.call('/echo')).status).toBe(200);
  });

  it('refuses a body over the limit with 413 before the function runs', async () => {
    const before = (await (await p.api('/v1/functions/echo/logs?limit=1000')).json()) as { logs: unknown[] };
    const res = await p.call('/echo', { method: 'POST', body: Buffer.alloc(2 * MiB + 1, 1) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_PAYLOAD_TOO_LARGE' } });
    const after = (await (await p.api('/v1/functions/echo/logs?limit=1000')).json()) as { logs: unknown[] };
    expect(after.logs.length).toBe(before.logs.length);
    // Exactly at the limit is accepted.
    const ok = await p.call('/respond/binary', { method: 'POST', body: Buffer.alloc(2 * MiB, 2) });
    expect(ok.status).toBe(200);
  });

  it('serves concurrent invocations on one instance', async () => {
    const n = 8;
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        p.call(`/barrier?n=${n}`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json()),
      ),
    );
    const instances = new Set(results.map((r) => (r as { instance: string }).instance));
    expect(instances.size).toBe(1);
    const status = (await (await p.api('/v1/functions/barrier')).json()) as {
      function: { instances: { pid: number; state: string }[] };
    };
    expect(status.function.instances).toHaveLength(1);
  });

  it('answers 502 SKIFF_E_INSTANCE_CRASHED when the instance dies mid-call, and replaces it', async () => {
    const { instance: before } = (await (await p.call('/crashy')).json()) as { instance: string };
    const [process0] = await instancePids('crashy');
    const res = await p.call('/crashy/exit');
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_INSTANCE_CRASHED' } });
    const next = await p.call('/crashy');
    expect(next.status).toBe(200);
    const { instance: after } = (await next.json()) as { instance: string };
    expect(after).not.toBe(before);
    expect(process0).toBeGreaterThan(0);
    expect(() => process.kill(process0 ?? 0, 0)).toThrow();
  });

  it('answers 504 SKIFF_E_TIMEOUT at the timeout, kills work that does not yield, and recovers', async () => {
    const { instance: before } = (await (await p.call('/crashy')).json()) as { instance: string };
    const started = Date.now();
    const res = await p.call('/crashy/spin');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_TIMEOUT' } });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500);
    const next = await p.call('/crashy');
    expect(next.status).toBe(200);
    const { instance: after } = (await next.json()) as { instance: string };
    expect(after).not.toBe(before);
  });

  it('a timed-out call that yields later leaves the instance serving', async () => {
    const { instance: before } = (await (await p.call('/crashy')).json()) as { instance: string };
    expect((await p.call('/crashy/slow')).status).toBe(504);
    await quietFor(
      600,
      'the slow handler yields after its timeout: the instance must not be replaced for it',
    );
    const { instance: after } = (await (await p.call('/crashy')).json()) as { instance: string };
    expect(after).toBe(before);
  });
});
