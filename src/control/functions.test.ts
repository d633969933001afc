/**
 * The `functions` routes in memory: list, get, versions, delete, logs, and the deploy route's checks
 * before a build (media type, size). Functions are recorded in a real SQLite registry directly.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse } from '../../test/helpers/in-memory-http.js';

let kit: ControlKit;
beforeEach(() => {
  kit = controlKit();
});
afterEach(() => kit.close());

const errorOf = (res: InMemoryResponse) => res.json<{ error: { code: string } }>().error;

describe('GET /v1/functions', () => {
  it('lists each function with its runtime, live version and hash', async () => {
    kit.addFunction('hello', { spec: { runtime: 'python' } });
    kit.addFunction('broken', { failed: true });
    const res = await kit.request({ path: '/v1/functions' });
    expect(res.status).toBe(200);
    const { functions } = res.json<{ functions: Record<string, unknown>[] }>();
    expect(functions).toHaveLength(2);
    const byName = Object.fromEntries(functions.map((f) => [f['name'], f]));
    expect(byName['hello']).toMatchObject({ runtime: 'python', liveVersion: 1, hash: 'abcdef0123456789' });
    expect(byName['hello']).toHaveProperty('createdAt');
    expect(byName['hello']).toHaveProperty('updatedAt');
    // a function whose only build failed has no live version and no hash, but is listed
    expect(byName['broken']).toMatchObject({ runtime: 'node', liveVersion: null, hash: null });
  });
});

describe('GET /v1/functions/{name}', () => {
  it('shows the spec, the versions with the live one marked and its build log, scaling and status', async () => {
    kit.addFunction('hello', { failed: true });
    kit.addFunction('hello');
    const res = await kit.request({ path: '/v1/functions/hello' });
    expect(res.status).toBe(200);
    const { function: fn } = res.json<{ function: Record<string, unknown> }>();
    expect(fn).toMatchObject({
      name: 'hello',
      liveVersion: 2,
      handler: 'index.js',
      spec: { name: 'hello', runtime: 'node' },
      scaling: { minInstances: 0, maxInstances: 10, concurrency: 100 },
      scalingOverride: null,
      instances: [],
      status: { queued: 0, inFlight: 0 },
    });
    const versions = fn['versions'] as Record<string, unknown>[];
    expect(versions.map((v) => [v['version'], v['status'], v['live']])).toEqual([
      [1, 'failed', false],
      [2, 'ready', true],
    ]);
    // only the live version carries its build log here; the failed one has its own route
    expect(versions[1]?.['buildLog']).toBe('built');
    expect(versions[0]).not.toHaveProperty('buildLog');
  });

  it('answers an unknown function with 404 SKIFF_E_FUNCTION_NOT_FOUND and a bad name with 400', async () => {
    const missing = await kit.request({ path: '/v1/functions/nope' });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    const bad = await kit.request({ path: '/v1/functions/Bad%20Name' });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).code).toBe('SKIFF_E_INVALID_NAME');
  });
});

describe('GET /v1/functions/{name}/versions/{version}', () => {
  it('shows one version with its own build log, or 404 SKIFF_E_NOT_FOUND', async () => {
    kit.addFunction('hello', { failed: true });
    kit.addFunction('hello');
    const one = await kit.request({ path: '/v1/functions/hello/versions/1' });
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({
      version: { version: 1, status: 'failed', live: false, buildLog: 'the build failed' },
    });
    for (const version of ['3', '0', 'abc', '1.5']) {
      const res = await kit.request({ path: `/v1/functions/hello/versions/${version}` });
      expect(res.status, version).toBe(404);
      expect(errorOf(res).code).toBe('SKIFF_E_NOT_FOUND');
    }
  });
});

describe('DELETE /v1/functions/{name}', () => {
  it('deletes the function (204), retires its instances and forgets its live version', async () => {
    kit.addFunction('hello');
    expect(kit.router.resolve('hello').version).toBe(1);
    const res = await kit.request({ method: 'DELETE', path: '/v1/functions/hello' });
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(kit.executor.calls).toContain('retire hello');
    expect(() => kit.router.resolve('hello')).toThrow(
      expect.objectContaining({ code: 'SKIFF_E_FUNCTION_NOT_FOUND' }),
    );
    expect((await kit.request({ path: '/v1/functions/hello' })).status).toBe(404);
  });

  it('answers 404 SKIFF_E_FUNCTION_NOT_FOUND for a function that is not there', async () => {
    const res = await kit.request({ method: 'DELETE', path: '/v1/functions/nope' });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
  });
});

describe('GET /v1/functions/{name}/logs', () => {
  it('gives the log lines (none yet) and refuses a limit out of 1..10000', async () => {
    kit.addFunction('hello');
    const ok = await kit.request({ path: '/v1/functions/hello/logs?limit=5' });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ logs: [] });
    for (const limit of ['0', '10001', '2.5', 'x']) {
      const res = await kit.request({ path: `/v1/functions/hello/logs?limit=${limit}` });
      expect(res.status, limit).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_REQUEST');
    }
  });
});

describe('PUT /v1/functions/{name} before the build', () => {
  it('refuses a body that is not an archive type with 415 SKIFF_E_UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await kit.request({ method: 'PUT', path: '/v1/functions/hello', body: { code: 'x' } });
    expect(res.status).toBe(415);
    expect(errorOf(res).code).toBe('SKIFF_E_UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses an archive over the upload limit with 413 SKIFF_E_ARCHIVE_TOO_LARGE, declared or streamed', async () => {
    for (const chunked of [false, true]) {
      const res = await kit.request({
        method: 'PUT',
        path: '/v1/functions/hello',
        headers: { 'content-type': 'application/zip' },
        body: Buffer.alloc(4096),
        chunked,
      });
      expect(res.status, `chunked ${chunked}`).toBe(413);
      expect(errorOf(res).code).toBe('SKIFF_E_ARCHIVE_TOO_LARGE');
    }
  });

  it('refuses a bad name with 400 SKIFF_E_INVALID_NAME before reading the body', async () => {
    const res = await kit.request({
      method: 'PUT',
      path: '/v1/functions/-bad',
      headers: { 'content-type': 'application/zip' },
      body: 'zip',
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('SKIFF_E_INVALID_NAME');
  });

  it('refuses scaling query parameters out of bounds with 400 SKIFF_E_INVALID_SCALING', async () => {
    const res = await kit.request({
      method: 'PUT',
      path: '/v1/functions/hello?maxInstances=0',
      headers: { 'content-type': 'application/zip' },
      body: 'zip',
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).code).toBe('SKIFF_E_INVALID_SCALING');
  });
});
