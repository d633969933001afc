import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

interface NodeView {
  fromCtx: string | null;
  fromEnv: string | null;
  fromCtxEnv: string | null;
  frozen: boolean;
  path: string;
  version: number;
  instance: string;
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('function secrets', () => {
  let p: TestPlatform;
  let dataDir: string;
  const first = `first-${randomUUID()}`;
  const second = `second-${randomUUID()}`;

  const put = (fn: string, secret: string, body: unknown) =>
    p.api(`/v1/functions/${fn}/secrets/${secret}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const node = async (): Promise<NodeView> => {
    const res = await p.call('/sec-node');
    expect(res.status).toBe(200);
    return (await res.json()) as NodeView;
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    await p.deployAll({ 'sec-node': 'secrets-node', 'sec-py': 'secrets-py', 'sec-bin': 'secrets-bin' });
  });

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('gives a secret to Node (ctx.secrets, ctx.env, process.env), Python and binary functions', async () => {
    const before = await node();
    expect(before).toMatchObject({
      fromCtx: null,
      fromEnv: 'from-skiff-json',
      fromCtxEnv: 'from-skiff-json',
    });

    for (const fn of ['sec-node', 'sec-py', 'sec-bin'])
      expect((await put(fn, 'API_KEY', { value: first })).status).toBe(204);

    const after = await node();
    expect(after).toMatchObject({
      fromCtx: first,
      fromEnv: first,
      fromCtxEnv: first,
      frozen: true,
      version: 1,
    });
    expect(after.instance).not.toBe(before.instance);
    expect(await (await p.call('/sec-py')).json()).toEqual({
      fromCtx: first,
      fromCtxEnv: first,
      fromEnv: first,
    });
    expect(await (await p.call('/sec-bin')).text()).toBe(first);
  });

  it('restarts the instance on a change without making a version', async () => {
    const before = await node();
    expect((await put('sec-node', 'API_KEY', { value: second })).status).toBe(204);
    const after = await node();
    expect(after).toMatchObject({ fromCtx: second, fromEnv: second, version: 1 });
    expect(after.instance).not.toBe(before.instance);
    const got = (await (await p.api('/v1/functions/sec-node')).json()) as {
      function: { liveVersion: number; versions: unknown[] };
    };
    expect(got.function.liveVersion).toBe(1);
    expect(got.function.versions).toHaveLength(1);
  });

  it('lists names and times but never shows a value back', async () => {
    const res = await p.api('/v1/functions/sec-node/secrets');
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { secrets: { name: string; updatedAt: string }[] };
    expect(body.secrets.map((s) => s.name)).toEqual(['API_KEY']);
    expect(body.secrets[0]?.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Object.keys(body.secrets[0] ?? {}).sort()).toEqual(['name', 'updatedAt']);
    for (const fn of ['sec-node', 'sec-py', 'sec-bin']) {
      for (const route of [
        `/v1/functions/${fn}`,
        `/v1/functions/${fn}/secrets`,
        `/v1/functions/${fn}/logs`,
      ]) {
        const answer = await (await p.api(route)).text();
        expect(answer, route).not.toContain(first);
        expect(answer, route).not.toContain(second);
      }
    }
    expect(await (await p.api('/v1/functions')).text()).not.toContain(second);
  });

  it('never lets a secret override the platform’s own variables', async () => {
    expect((await put('sec-node', 'PATH', { value: '/evil' })).status).toBe(204);
    const view = await node();
    expect(view.path).toBe('/usr/local/bin:/usr/bin:/bin');
    expect((await p.api('/v1/functions/sec-node/secrets/PATH', { method: 'DELETE' })).status).toBe(204);
  });

  it('refuses invalid names, bodies and values with what to fix', async () => {
    const cases: [string, unknown, string][] = [
      ['1BAD', { value: 'x' }, 'secret name'],
      ['BAD-NAME', { value: 'x' }, 'secret name'],
      ['OK', 'not json', '"value"'],
      ['OK', { value: 42 }, '"value"'],
      ['OK', { value: 'x', other: 1 }, 'other'],
      ['OK', { value: 'x'.repeat(64 * 1024 + 1) }, '64 KiB'],
      ['OK', { value: 'a\u0000b' }, 'NUL'],
    ];
    for (const [name, body, hint] of cases) {
      const res = await put('sec-node', name, body);
      expect(res.status, `${name} ${JSON.stringify(body).slice(0, 40)}`).toBe(400);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error.code).toBe('SKIFF_E_INVALID_REQUEST');
      expect(error.message).toContain(hint);
    }
    expect((await put('sec-node', 'OK', { value: 'x'.repeat(64 * 1024) })).status).toBe(204);
    expect((await p.api('/v1/functions/sec-node/secrets/OK', { method: 'DELETE' })).status).toBe(204);

    const missing = await put('no-such-fn', 'API_KEY', { value: 'x' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorBody).error.code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    expect((await p.api('/v1/functions/no-such-fn/secrets')).status).toBe(404);
  });

  it('caps a function at 100 secrets', async () => {
    for (let i = 0; i < 99; i += 1) expect((await put('sec-py', `S${i}`, { value: 'v' })).status).toBe(204);
    const over = await put('sec-py', 'ONE_TOO_MANY', { value: 'v' });
    expect(over.status).toBe(400);
    expect(((await over.json()) as ErrorBody).error.message).toContain('100 secrets');
    expect((await put('sec-py', 'S0', { value: 'replaced' })).status).toBe(204);
    for (let i = 0; i < 99; i += 1) {
      expect((await p.api(`/v1/functions/sec-py/secrets/S${i}`, { method: 'DELETE' })).status).toBe(204);
    }
  });

  it('needs the token on the secret routes', async () => {
    for (const [method, route] of [
      ['GET', '/v1/functions/sec-node/secrets'],
      ['PUT', '/v1/functions/sec-node/secrets/API_KEY'],
      ['DELETE', '/v1/functions/sec-node/secrets/API_KEY'],
    ] as const) {
      const res = await fetch(`${p.controlUrl}${route}`, {
        method,
        body: method === 'PUT' ? '{"value":"x"}' : null,
      });
      expect(res.status, `${method} ${route}`).toBe(401);
    }
  });

  it('keeps secrets across a platform restart and a redeploy', async () => {
    await p.stop();
    p = await startPlatform({ dataDir });
    expect(await node()).toMatchObject({ fromCtx: second, fromEnv: second });
    const redeployed = await p.deploy('sec-node', fixture('secrets-node'));
    expect(redeployed.status).toBe(200);
    expect(await node()).toMatchObject({ fromCtx: second, version: 2 });
  });

  it('deletes a secret (204, then 404) and the next call no longer sees it', async () => {
    const del = () => p.api('/v1/functions/sec-node/secrets/API_KEY', { method: 'DELETE' });
    expect((await del()).status).toBe(204);
    const again = await del();
    expect(again.status).toBe(404);
    expect(((await again.json()) as ErrorBody).error.code).toBe('SKIFF_E_SECRET_NOT_FOUND');
    expect(await node()).toMatchObject({ fromCtx: null, fromEnv: 'from-skiff-json' });
  });

  it('deletes the secrets with the function', async () => {
    expect((await put('sec-bin', 'API_KEY', { value: first })).status).toBe(204);
    expect((await p.api('/v1/functions/sec-bin', { method: 'DELETE' })).status).toBe(204);
    await p.deployAll({ 'sec-bin': 'secrets-bin' });
    expect(await (await p.api('/v1/functions/sec-bin/secrets')).json()).toEqual({ secrets: [] });
    expect(await (await p.call('/sec-bin')).text()).toBe('unset');
  });
});
