/**
 * `ctx.state` on a real platform (docs/composition.md, "State"): compare-and-set counters under 20
 * concurrent invocations from Node and Python (sync and async handlers), bytes and JSON values, the
 * caps' codes inside the function, one function unable to see another's state, and state written by a
 * function surviving a restart, visible through the management API and `skiff state get`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');
const MAX_VALUE_BYTES = 4096;

/** Runs the built CLI with only SKIFF_HOME set among SKIFF_* variables. */
function skiff(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { SKIFF_HOME: home };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SKIFF_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('ctx.state', () => {
  let dataDir: string;
  let p: TestPlatform | undefined;
  const platform = (): TestPlatform => {
    if (p === undefined) throw new Error('no platform');
    return p;
  };
  const start = () => startPlatform({ dataDir, config: { state: { maxValueBytes: MAX_VALUE_BYTES } } });
  const get = async (route: string): Promise<unknown> => {
    const res = await platform().call(route);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text);
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await start();
    await p.deployAll({
      'state-node': 'state-node',
      'state-other': 'state-node',
      'state-py': 'state-py',
      'state-py-async': 'state-py-async',
    });
  });

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('20 concurrent compare-and-set increments from Node end at exactly 20', async () => {
    const results = (await Promise.all(Array.from({ length: 20 }, () => get('/state-node/incr')))) as {
      value: number;
      attempts: number;
    }[];
    // every invocation wrote a different value: none overwrote another's
    expect(results.map((r) => r.value).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    // they really raced: some read a version another had already replaced, and retried
    expect(results.reduce((sum, r) => sum + r.attempts, 0)).toBeGreaterThan(20);
    expect(await get('/state-node/get')).toEqual({
      value: 20,
      version: 20,
      contentType: 'application/json',
    });
    const res = await platform().api('/v1/functions/state-node/state/counter');
    expect(await res.json()).toBe(20);
  });

  it('the same from sync and async Python handlers, and Python reads what it wrote', async () => {
    for (const fn of ['state-py', 'state-py-async']) {
      const results = (await Promise.all(Array.from({ length: 20 }, () => get(`/${fn}/incr`)))) as {
        value: number;
      }[];
      expect(new Set(results.map((r) => r.value)).size, fn).toBe(20);
      expect(Math.max(...results.map((r) => r.value)), fn).toBe(20);
      const stored = await platform().api(`/v1/functions/${fn}/state/counter`);
      expect(await stored.json(), fn).toBe(20);
    }
    expect(await get('/state-py/get')).toEqual({
      value: 20,
      version: 20,
      contentType: 'application/json',
    });
  });

  it('stores JSON and bytes, lists, deletes, and refuses a stale version with SKIFF_E_STATE_CONFLICT (Node)', async () => {
    const out = (await get('/state-node/types')) as Record<string, unknown>;
    expect(out['versions']).toEqual({ obj: 1, num: 1, str: 1, bytes: 1, again: 2 });
    expect(out['read']).toEqual({
      obj: { a: [1, 'two'] },
      num: { value: 43, version: 2, contentType: 'application/json' },
      str: 'hello',
      bytes: { isBuffer: true, data: [0, 1, 255], type: 'application/octet-stream' },
      missing: null,
    });
    expect(out['listed']).toEqual([
      ['t/bytes', 1, 3, 'application/octet-stream'],
      ['t/num', 2, 2, 'application/json'],
      ['t/obj', 1, 15, 'application/json'],
      ['t/str', 1, 7, 'application/json'],
    ]);
    expect(out['conflict']).toMatchObject({ name: 'StateError', code: 'SKIFF_E_STATE_CONFLICT' });
    expect(out['conflict']).toHaveProperty('message', expect.stringContaining('at version 2, not 1'));
    expect(out['created']).toMatchObject({ code: 'SKIFF_E_STATE_CONFLICT' });
    expect(out['deleted']).toEqual([true, false]);
    expect(out['staleDelete']).toMatchObject({ code: 'SKIFF_E_STATE_CONFLICT' });
    expect(out['badKey']).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    expect(out['longKey']).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    expect(out['longPrefix']).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    expect(out['badVersion']).toMatchObject({ code: 'SKIFF_E_INVALID_REQUEST' });
    expect(out['afterDelete']).toEqual(['t/bytes', 't/num', 't/obj']);
  });

  it('the same value types from Python, and a list over several pages', async () => {
    expect(await get(`/state-py/types?bytes=${MAX_VALUE_BYTES + 1}`)).toEqual({
      versions: [1, 1, 2],
      json: 'text',
      bytes: [0, 255],
      missing: null,
      keys: ['p/bytes', 'p/json'],
      deleted: [true, false],
      conflict: { name: 'StateError', code: 'SKIFF_E_STATE_CONFLICT' },
      big: 'SKIFF_E_STATE_TOO_LARGE',
    });
    expect(await get('/state-node/many?n=250')).toEqual({ count: 250, first: 'm/0000', last: 'm/0249' });
  });

  it('a value over state.maxValueBytes is refused inside the function with SKIFF_E_STATE_TOO_LARGE', async () => {
    expect(await get(`/state-node/big?key=fits&bytes=${MAX_VALUE_BYTES}`)).toEqual({ ok: 1 });
    expect(await get(`/state-node/big?key=big&bytes=${MAX_VALUE_BYTES + 1}`)).toMatchObject({
      name: 'StateError',
      code: 'SKIFF_E_STATE_TOO_LARGE',
    });
    // larger than a frame of the instance may carry: refused by the bridge with the same code
    expect(await get(`/state-node/big?key=huge&bytes=${7 * 1024 * 1024}`)).toMatchObject({
      code: 'SKIFF_E_STATE_TOO_LARGE',
    });
    expect((await platform().api('/v1/functions/state-node/state/big')).status).toBe(404);
  });

  it("a function cannot see or change another function's state", async () => {
    await get('/state-node/incr?key=secret');
    expect(await get('/state-node/get?key=secret')).toMatchObject({ value: 1 });
    // the same code deployed under another name has its own state: no such key there
    expect(await get('/state-other/get?key=secret')).toBeNull();
    expect(await get('/state-other/incr?key=secret')).toEqual({ value: 1, attempts: 1 });
    expect(await get('/state-other/incr?key=secret')).toEqual({ value: 2, attempts: 1 });
    expect(await get('/state-node/get?key=secret')).toMatchObject({ value: 1, version: 1 });
    expect((await platform().api('/v1/functions/state-py/state/secret')).status).toBe(404);
  });

  it('state a function set survives a restart and shows in the API and `skiff state get`', async () => {
    await platform().stop();
    p = undefined;
    p = await start();
    const res = await platform().api('/v1/functions/state-node/state/counter');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"20"');
    expect(await res.json()).toBe(20);
    const cli = await skiff(['state', 'get', 'state-node', 'counter', '--json'], dataDir);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({
      function: 'state-node',
      key: 'counter',
      version: 20,
      contentType: 'application/json',
      value: 20,
    });
    // and the function goes on from there
    expect(await get('/state-node/incr')).toEqual({ value: 21, attempts: 1 });
  });
});
