/**
 * Per-function state on a real platform: what was set is there after a restart on the same data
 * directory (state.db, synchronous=FULL), and deleting the function deletes it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

describe('state on a real platform', () => {
  let dataDir: string | undefined;
  let p: TestPlatform | undefined;

  afterAll(async () => {
    await p?.stop();
    if (dataDir !== undefined) await removeDir(dataDir);
  });

  it('keeps values across a restart (20 concurrent CAS increments end at 20), deletes them with the function', async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    expect((await p.deploy('keeper', fixture('echo-cjs'))).status).toBe(201);
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const set = await p.api('/v1/functions/keeper/state/blob%2F1', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(set.status).toBe(201);
    const json = await p.api('/v1/functions/keeper/state/config', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'fast' }),
    });
    expect(json.status).toBe(201);
    await p.api('/v1/functions/keeper/state/config', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ mode: 'slow' }),
    });
    // 20 clients incrementing one counter over HTTP with compare-and-set: none of the updates is lost
    const counter = '/v1/functions/keeper/state/counter';
    const asJson = { 'content-type': 'application/json' };
    expect((await p.api(counter, { method: 'PUT', headers: asJson, body: '0' })).status).toBe(201);
    let conflicts = 0;
    const increment = async (platform: TestPlatform): Promise<void> => {
      for (;;) {
        const read = await platform.api(counter);
        const n = (await read.json()) as number;
        const write = await platform.api(counter, {
          method: 'PUT',
          headers: { ...asJson, 'if-match': read.headers.get('etag') ?? '' },
          body: String(n + 1),
        });
        await write.arrayBuffer();
        if (write.status === 200) return;
        expect(write.status).toBe(409);
        conflicts++;
      }
    };
    const running = p;
    await Promise.all(Array.from({ length: 20 }, () => increment(running)));
    expect(conflicts).toBeGreaterThan(0);
    await p.stop();
    p = undefined;

    p = await startPlatform({ dataDir });
    const blob = await p.api('/v1/functions/keeper/state/blob%2F1');
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(bytes);
    const config = await p.api('/v1/functions/keeper/state/config');
    expect(config.headers.get('etag')).toBe('"2"');
    expect(config.headers.get('content-type')).toBe('application/json');
    expect(await config.json()).toEqual({ mode: 'slow' });
    const count = await p.api('/v1/functions/keeper/state/counter');
    expect(await count.json()).toBe(20);
    expect(count.headers.get('etag')).toBe('"21"');

    expect((await p.api('/v1/functions/keeper', { method: 'DELETE' })).status).toBe(204);
    expect((await p.deploy('keeper', fixture('echo-cjs'))).status).toBe(201);
    const list = await p.api('/v1/functions/keeper/state');
    expect(await list.json()).toMatchObject({ keys: [], usage: { keys: 0, bytes: 0 } });
  });
});
