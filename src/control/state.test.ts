/**
 * The state routes in memory: raw values in and out with their content type, versions in ETag,
 * compare-and-set with If-Match / If-None-Match under concurrent callers, listing, the caps and key
 * rules, and that deleting the function deletes its state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse, RequestBody } from '../../test/helpers/in-memory-http.js';

let kit: ControlKit;
beforeEach(() => {
  kit = controlKit();
  kit.addFunction('hello');
});
afterEach(() => kit.close());

const errorOf = (res: InMemoryResponse) =>
  res.json<{ error: { code: string; message: string; details?: unknown } }>().error;
const keyPath = (key: string, fn = 'hello') => `/v1/functions/${fn}/state/${encodeURIComponent(key)}`;
/** Numbers are sent as JSON (the in-memory client sends objects as JSON, strings and bytes as they are). */
const put = (key: string, body: RequestBody | number, headers: Record<string, string> = {}) =>
  kit.request({
    method: 'PUT',
    path: keyPath(key),
    body: typeof body === 'number' ? String(body) : body,
    headers: typeof body === 'number' ? { 'content-type': 'application/json', ...headers } : headers,
  });
const get = (key: string) => kit.request({ path: keyPath(key) });

describe('state routes', () => {
  it('stores JSON and bytes as sent and gives them back with their type and version', async () => {
    const created = await put('config', { a: 1 });
    expect(created.status).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.json()).toEqual({ key: 'config', version: 1, created: true });
    const replaced = await put('config', { a: 2 });
    expect(replaced.status).toBe(200);
    expect(replaced.json()).toEqual({ key: 'config', version: 2, created: false });
    const res = await get('config');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toEqual({ a: 2 });

    const bytes = Buffer.from([0, 1, 254, 255]);
    const key = 'blobs/ä b?c#d';
    expect((await put(key, bytes, { 'content-type': 'application/octet-stream' })).status).toBe(201);
    const raw = await get(key);
    expect(raw.headers['content-type']).toBe('application/octet-stream');
    expect(raw.body).toEqual(bytes);
    // no Content-Type: bytes
    expect(
      (await kit.request({ method: 'PUT', path: keyPath('plain'), body: Buffer.from('hi') })).status,
    ).toBe(201);
    expect((await get('plain')).headers['content-type']).toBe('application/octet-stream');
  });

  it('refuses JSON that does not parse, other media types, bad keys and unknown keys or functions', async () => {
    const badJson = await put('k', '{nope', { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(errorOf(badJson).code).toBe('SKIFF_E_INVALID_REQUEST');
    expect((await put('k', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    const badKey = await put('a\nb', 'x');
    expect(badKey.status).toBe(400);
    expect(errorOf(badKey).code).toBe('SKIFF_E_INVALID_STATE_KEY');
    expect(errorOf(await put('k'.repeat(513), 'x')).code).toBe('SKIFF_E_INVALID_STATE_KEY');
    const missing = await get('nothing');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('SKIFF_E_STATE_NOT_FOUND');
    expect(errorOf(await kit.request({ method: 'DELETE', path: keyPath('nothing') })).code).toBe(
      'SKIFF_E_STATE_NOT_FOUND',
    );
    expect(errorOf(await kit.request({ path: keyPath('k', 'nobody') })).code).toBe(
      'SKIFF_E_FUNCTION_NOT_FOUND',
    );
    // every state route needs the token
    expect((await kit.request({ path: keyPath('k'), auth: false })).status).toBe(401);
  });

  it('compares and sets with If-Match and If-None-Match, naming the current version on 409', async () => {
    expect((await put('k', 1, { 'if-none-match': '*' })).status).toBe(201);
    const again = await put('k', 1, { 'if-none-match': '*' });
    expect(again.status).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'SKIFF_E_STATE_CONFLICT', details: { currentVersion: 1 } });
    const stale = await put('k', 2, { 'if-match': '"7"' });
    expect(stale.status).toBe(409);
    expect(errorOf(stale).message).toMatch(/is at version 1, not 7/);
    expect((await put('k', 2, { 'if-match': '"1"' })).status).toBe(200);
    expect((await put('k', 3, { 'if-match': '2' })).status).toBe(200);
    expect((await put('k', 3, { 'if-match': '*' })).status).toBe(400);
    const noneMatch = { 'if-none-match': '*' };
    expect((await kit.request({ method: 'DELETE', path: keyPath('k'), headers: noneMatch })).status).toBe(
      400,
    );
    const del = await kit.request({ method: 'DELETE', path: keyPath('k'), headers: { 'if-match': '"1"' } });
    expect(del.status).toBe(409);
    expect(
      (await kit.request({ method: 'DELETE', path: keyPath('k'), headers: { 'if-match': '"3"' } })).status,
    ).toBe(204);
    expect((await get('k')).status).toBe(404);
  });

  it('ends 20 concurrent compare-and-set increments over the API at exactly 20', async () => {
    await put('counter', 0);
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      for (;;) {
        const res = await get('counter');
        const n = res.json<number>();
        const written = await put('counter', n + 1, { 'if-match': String(res.headers.etag) });
        if (written.status === 200) return;
        expect(written.status).toBe(409);
        conflicts++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    const final = await get('counter');
    expect(final.json()).toBe(20);
    expect(final.headers.etag).toBe('"21"');
    expect(conflicts).toBeGreaterThan(0);
  });

  it('lists keys with versions and sizes, a page at a time, with the usage and caps', async () => {
    for (const key of ['b', 'a/1', 'a/2', 'a/3'])
      await put(key, 'xx', { 'content-type': 'application/octet-stream' });
    const first = await kit.request({ path: '/v1/functions/hello/state?prefix=a%2F&limit=2' });
    expect(first.status).toBe(200);
    const page = first.json<{ keys: { key: string; size: number }[]; next: string | null; usage: unknown }>();
    expect(page.keys.map((k) => k.key)).toEqual(['a/1', 'a/2']);
    expect(page.keys[0]).toMatchObject({ version: 1, size: 2, contentType: 'application/octet-stream' });
    expect(page.next).toBe('a/2');
    expect(page.usage).toEqual({ keys: 4, bytes: 4 * 2 + 1 + 3 * 3 });
    const second = await kit.request({ path: `/v1/functions/hello/state?prefix=a%2F&after=${page.next}` });
    expect(second.json<{ keys: { key: string }[]; next: null }>()).toMatchObject({
      keys: [{ key: 'a/3' }],
      next: null,
    });
    expect(first.json<{ limits: unknown }>().limits).toEqual(kit.state.limits);
    expect((await kit.request({ path: '/v1/functions/hello/state?limit=0' })).status).toBe(400);
  });

  it('refuses a value over state.maxValueBytes with 413 SKIFF_E_STATE_TOO_LARGE', async () => {
    const max = kit.state.limits.maxValueBytes;
    const over = await put('big', Buffer.alloc(max + 1), { 'content-type': 'application/octet-stream' });
    expect(over.status).toBe(413);
    expect(errorOf(over).code).toBe('SKIFF_E_STATE_TOO_LARGE');
    expect((await put('big', Buffer.alloc(max), { 'content-type': 'application/octet-stream' })).status).toBe(
      201,
    );
  });

  it('deletes a function’s state with the function', async () => {
    await put('k', 1);
    await kit.state.set('other', 'k', Buffer.from('1'), 'application/json');
    expect((await kit.request({ method: 'DELETE', path: '/v1/functions/hello' })).status).toBe(204);
    expect(await kit.state.get('hello', 'k')).toBeUndefined();
    expect(await kit.state.get('other', 'k')).toBeDefined();
    kit.addFunction('hello');
    expect((await get('k')).status).toBe(404);
  });
});
