/**
 * A bridge that closes its protocol socket (fd 3) but keeps its process alive: nothing it is sent can
 * arrive any more. The platform must end it at once, failing what was in flight with a stable code,
 * instead of sending it more calls that each wait for the whole timeout (30 s by default, up to 300 s).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

// HELLO, READY after INIT, RESULT "ok" for every INVOKE, except for a body "close": then it closes fd 3
// and lives on.
const BRIDGE = `
const net = require('node:net');
const sock = new net.Socket({ fd: 3, readable: true, writable: true });
function frame(kind, id, meta, body = Buffer.alloc(0)) {
  const m = Buffer.from(JSON.stringify(meta));
  const out = Buffer.alloc(13 + m.length + body.length);
  out.writeUInt32BE(9 + m.length + body.length, 0); out.writeUInt8(kind, 4); out.writeUInt32BE(id, 5);
  out.writeUInt32BE(m.length, 9); m.copy(out, 13); body.copy(out, 13 + m.length);
  return out;
}
sock.write(frame(1, 0, { protocol: 1, runtime: 'hostile' }));
let buf = Buffer.alloc(0);
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0) + 4) {
    const f = buf.subarray(0, buf.readUInt32BE(0) + 4);
    buf = buf.subarray(f.length);
    const kind = f.readUInt8(4), id = f.readUInt32BE(5);
    const body = f.subarray(13 + f.readUInt32BE(9)).toString();
    if (kind === 2) sock.write(frame(3, 0, {}));
    if (kind === 10) sock.write(frame(11, id, {}));
    if (kind === 4 && body === 'close') { sock.destroy(); setInterval(() => {}, 1000); }
    else if (kind === 4) sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('ok')));
  }
});
`;

describe('a bridge that closes its protocol socket and lives on', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = path.join(dir, 'fn');
    await mkdir(fn);
    await writeFile(path.join(fn, 'bridge.cjs'), BRIDGE);
    await writeFile(
      path.join(fn, 'skiff.json'),
      JSON.stringify({ runtime: 'custom', command: ['node', 'bridge.cjs'], timeoutMs: 60_000 }),
    );
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
