/**
 * The secrets routes in memory: name rules, the body's shape, the size and count caps, that values
 * never come out, and that a change restarts the function's instances.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse, RequestBody } from '../../test/helpers/in-memory-http.js';
import { MAX_SECRETS_PER_FUNCTION, MAX_SECRET_VALUE_BYTES } from './secrets.js';

let kit: ControlKit;
beforeEach(() => {
  kit = controlKit();
  kit.addFunction('hello');
});
afterEach(() => kit.close());

const errorOf = (res: InMemoryResponse) => res.json<{ error: { code: string; message: string } }>().error;
const put = (secret: string, body: RequestBody, fn = 'hello') =>
  kit.request({ method: 'PUT', path: `/v1/functions/${fn}/secrets/${secret}`, body });

describe('PUT /v1/functions/{name}/secrets/{secret}', () => {
  it('stores the secret (204), restarts the instances, and lists its name but never its value', async () => {
    expect(kit.router.resolve('hello').secrets).toEqual({});
    const res = await put('API_KEY', { value: 's3cret-value' });
    expect(res.status).toBe(204);
    expect(kit.router.resolve('hello').secrets).toEqual({ API_KEY: 's3cret-value' });
    expect(kit.registry.secretValues('hello')).toEqual({ API_KEY: 's3cret-value' });
    // the live deployment is resolved again with the new value, and warm instances start afresh
    expect(kit.executor.calls).toEqual(['retire hello', 'ensure hello@1']);
    const list = await kit.request({ path: '/v1/functions/hello/secrets' });
    expect(list.status).toBe(200);
    const { secrets } = list.json<{ secrets: Record<string, unknown>[] }>();
    expect(secrets.map((s) => Object.keys(s).sort())).toEqual([['name', 'updatedAt']]);
    expect(secrets[0]?.['name']).toBe('API_KEY');
    expect(list.text).not.toContain('s3cret-value');
  });

  it('refuses names that are not environment variable names with 400 SKIFF_E_INVALID_REQUEST', async () => {
    for (const name of ['1KEY', 'MY-KEY', 'KEY%20X', 'K'.repeat(256)]) {
      const res = await put(name, { value: 'v' });
      expect(res.status, name).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_REQUEST');
      expect(errorOf(res).message).toMatch(/invalid secret name/);
    }
    expect((await put('K'.repeat(255), { value: 'v' })).status).toBe(204);
  });

  it('refuses a body that is not { "value": string } with 400, never echoing the value', async () => {
    const bodies: RequestBody[] = [
      'not json',
      '["a"]',
      { value: 42 },
      { value: 'hidden-1', other: 1 },
      { value: 'hidden\u00002' },
    ];
    for (const body of bodies) {
      const res = await put('KEY', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_REQUEST');
      expect(res.text).not.toContain('hidden');
    }
    expect(kit.registry.listSecrets('hello')).toEqual([]);
  });

  it('takes a value of 64 KiB and refuses one byte more, also when JSON escaping makes the body long', async () => {
    expect((await put('KEY', { value: 'a'.repeat(MAX_SECRET_VALUE_BYTES) })).status).toBe(204);
    const over = await put('KEY', { value: 'a'.repeat(MAX_SECRET_VALUE_BYTES + 1) });
    expect(over.status).toBe(400);
    expect(errorOf(over).message).toMatch(/longer than 65536 bytes/);
    // far over the body cap: refused from its Content-Length, with the same message
    const huge = await put('KEY', { value: 'a'.repeat(8 * MAX_SECRET_VALUE_BYTES) });
    expect(huge.status).toBe(400);
    expect(errorOf(huge).message).toMatch(/longer than 65536 bytes/);
  });

  it('caps the secrets of a function, and still lets one of them be replaced', async () => {
    for (let i = 0; i < MAX_SECRETS_PER_FUNCTION; i++) kit.registry.setSecret('hello', `S${i}`, 'v');
    const more = await put('ONE_MORE', { value: 'v' });
    expect(more.status).toBe(400);
    expect(errorOf(more).message).toMatch(/already has 100 secrets/);
    expect((await put('S7', { value: 'new' })).status).toBe(204);
    expect(kit.registry.secretValues('hello')['S7']).toBe('new');
  });

  it('answers an unknown function with 404 SKIFF_E_FUNCTION_NOT_FOUND', async () => {
    const res = await put('KEY', { value: 'v' }, 'nope');
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
    const list = await kit.request({ path: '/v1/functions/nope/secrets' });
    expect(list.status).toBe(404);
  });
});

describe('DELETE /v1/functions/{name}/secrets/{secret}', () => {
  it('deletes a secret (204) and restarts; a missing one is 404 SKIFF_E_SECRET_NOT_FOUND', async () => {
    kit.registry.setSecret('hello', 'KEY', 'v');
    const gone = await kit.request({ method: 'DELETE', path: '/v1/functions/hello/secrets/KEY' });
    expect(gone.status).toBe(204);
    expect(kit.registry.listSecrets('hello')).toEqual([]);
    expect(kit.executor.calls).toContain('retire hello');
    const again = await kit.request({ method: 'DELETE', path: '/v1/functions/hello/secrets/KEY' });
    expect(again.status).toBe(404);
    expect(errorOf(again).code).toBe('SKIFF_E_SECRET_NOT_FOUND');
  });
});
