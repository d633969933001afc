import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

/**
 * The Request a native Node handler gets is built lazily by the bridge (runtimes/node/lazy-request.ts)
 * and a Response it returns may be read without its stream (result.ts): whatever the handler does,
 * it must see and get what a real Request and Response give.
 */
describe('the Request and Response of a native Node handler', () => {
  let p: TestPlatform;
  let dataDir: string;

  const post = (name: string, body: string, headers: Record<string, string> = {}) =>
    p.call(`/shape?case=${name}`, { method: 'POST', body, headers: { 'x-probe': 'yes', ...headers } });

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    await p.deployAll({ shape: 'request-shape' });
  });

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('is a Request with its method, url, headers and a body that reads once', async () => {
    const res = await post('plain', 'héllo');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      isRequest: true,
      tag: '[object Request]',
      method: 'POST',
      url: `http://${new URL(p.httpUrl).host}/?case=plain`, // the gateway strips the function name
      header: 'yes',
      text: 'héllo',
      used: true,
      again: { ok: false, name: 'TypeError' },
      body: true,
      cache: 'default',
    });
  });

  it('parses JSON, and rejects what is not JSON with a SyntaxError', async () => {
    expect(await (await post('json', '{"a":[1,2]}')).json()).toEqual({ value: { a: [1, 2] }, used: true });
    expect(await (await post('badJson', '{nope')).json()).toEqual({ ok: false, name: 'SyntaxError' });
  });

  it('clones, streams and parses forms through a real Request', async () => {
    expect(await (await post('clone', 'copied')).json()).toEqual({
      copy: 'copied',
      fromStream: 'copied',
      used: true,
    });
    const form = await post('form', 'a=1&b=two', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(await form.json()).toEqual({ a: '1', b: 'two' });
  });

  it('has no body on GET: text is empty every time and the body is never used', async () => {
    const res = await p.call('/shape?case=get');
    expect(await res.json()).toEqual({ text: '', again: '', body: null, used: false });
  });

  it('aborts request.signal (which is ctx.signal) when the platform cancels the call', async () => {
    const res = await p.call('/shape?case=signal');
    expect(res.status).toBe(504);
    await waitFor('the abort logged by the handler', async () =>
      (await p.logs('shape')).find((l) => l.message.startsWith('aborted')),
    );
    const line = (await p.logs('shape')).find((l) => l.message.startsWith('aborted'));
    expect(line?.message).toBe('aborted same=true reason=invocation cancelled by the platform');
  });

  it('sends the body of a Response made of bytes, a stream, JSON, a Blob, nothing or a clone', async () => {
    const bytes = await p.call('/shape?case=bytes');
    expect([bytes.status, bytes.headers.get('x-kind'), await bytes.text()]).toEqual([201, 'bytes', 'hi']);
    expect(await (await p.call('/shape?case=stream')).text()).toBe('stream');
    const json = await p.call('/shape?case=jsonResponse');
    expect([json.headers.get('content-type'), await json.text()]).toEqual(['application/json', '{"a":1}']);
    const empty = await p.call('/shape?case=empty');
    expect([empty.status, await empty.text()]).toEqual([202, '']);
    expect(await (await p.call('/shape?case=blob')).text()).toBe('blob');
    expect(await (await p.call('/shape?case=cloned')).text()).toBe('twice');
  });

  it('sends a Response made of a string as Node makes it (types, trimmed and lower-cased headers)', async () => {
    const light = await p.call('/shape?case=light');
    expect(light.status).toBe(203);
    expect(light.headers.get('x-up')).toBe('v');
    expect(light.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(light.headers.get('set-cookie')).toBe('a=1');
    expect(await light.text()).toBe('light');
    expect((await p.call('/shape?case=mutated')).headers.get('x-late')).toBe('1');
    expect(await (await p.call('/shape?case=identity')).json()).toEqual({
      own: true,
      fromStatic: true,
      sub: true,
      subText: 'sub',
      tag: '[object Response]',
      name: 'Response',
      status: 201,
      ok: true,
      type: 'text/plain;charset=UTF-8',
      text: 'a',
      used: true,
    });
    expect((await p.call('/shape?case=badStatus')).status).toBe(500);
  });

  it('fails the call for a Response whose body was read or locked, as before', async () => {
    for (const name of ['read', 'locked']) {
      const res = await p.call(`/shape?case=${name}`);
      expect(res.status, name).toBe(500);
      expect(await res.text(), name).not.toContain(name === 'read' ? 'used' : 'locked');
    }
  });
});
