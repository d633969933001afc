/**
 * A bridge that closes its protocol socket (fd 3) but keeps its process alive: nothing it is sent can
 * arrive any more. The platform must end it at once, failing what was in flight with a stable code,
 * instead of sending it more calls that each wait for the whole timeout (30 s by default, up to 300 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

// HELLO, READY after INIT, RESULT "ok" for every INVOKE, except for a body "close": then it closes fd 3
// and lives on.
const BRIDGE = answeringBridge(`
      if (body.toString() === 'close') { sock.destroy(); setInterval(() => {}, 1000); }
      else sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('ok')));
`);

describe('a bridge that closes its protocol socket and lives on', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = await bridgeFunction(dir, 'fn', BRIDGE, { timeoutMs: 60_000 });
    platform = await startPlatform();
    const res = await platform.deploy('closer', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('is ended at once: its call fails with a stable code, and the next call gets a new instance', async () => {
    const started = Date.now();
    const res = await platform.call('/closer', { method: 'POST', body: 'close' });
    const body = (await res.json()) as { error: { code: string } };
    expect(res.status).toBe(502);
    expect(body.error.code).toBe('SKIFF_E_INSTANCE_CRASHED');
    // well before the call's timeout of 60 s
    expect(Date.now() - started).toBeLessThan(10_000);
    const next = await platform.call('/closer', { method: 'POST', body: 'hi' });
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('ok');
    const logs = await platform.logs('closer');
    expect(logs.some((l) => l.message.includes('closed its runtime-protocol socket'))).toBe(true);
  }, 90_000);
});
