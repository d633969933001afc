/**
 * Red team (round two): a call is cancelled when its caller ends (call-desk.ts `forget`), which frees its
 * call id at once (FAIL SKIFF_E_CANCELLED) while the callee is still being cancelled. A hostile bridge
 * reuses that id at once for a new call; if the first call's late settle still found an entry under
 * the id, it would answer (or end) the new call with the old one's outcome, and leave the new call
 * uncounted and never cancelled. Asserted (withstood): the new call under the reused id gets its own
 * callee's answer and only that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction, rawBridge } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;

/** Answers after 3 s (its runs are cancelled meanwhile), or at once with "echo" for path /fast. */
const CALLEE = answeringBridge(`
      if (new URL(meta.url, 'http://x').pathname === '/fast') sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('fast answer')));
      else setTimeout(() => sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('slow answer'))), 3000);
`);

/**
 * /first: CALL id 7 to the slow callee, then ends at once. /second: CALL id 7 again (to /fast) and ends
 * with every answer under id 7 seen from then on (after 500 ms), as JSON.
 */
const CALLER = rawBridge(`
const net = require('node:net');
const sock = new net.Socket({ fd: 3, readable: true, writable: true });
sock.write(frame(1, 0, { protocol: 1, runtime: 'hostile' }));
let buf = Buffer.alloc(0);
let seen = null;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0) + 4) {
    const f = buf.subarray(0, buf.readUInt32BE(0) + 4);
    buf = buf.subarray(f.length);
    const kind = f.readUInt8(4), id = f.readUInt32BE(5), metaLength = f.readUInt32BE(9);
    const meta = metaLength === 0 ? {} : JSON.parse(f.subarray(13, 13 + metaLength).toString());
    const body = f.subarray(13 + metaLength);
    if (kind === 2) sock.write(frame(3, 0, {}));
    else if (kind === 10) sock.write(frame(11, id, {}));
    else if ((kind === 13 || kind === 14) && id === 7 && seen !== null)
      seen.push({ kind, meta, body: body.toString() });
    else if (kind === 4) {
      if (new URL(meta.url, 'http://x').pathname === '/first') {
        sock.write(frame(12, 7, { invocationId: meta.invocationId, function: 'callee', path: '/slow' }));
        setTimeout(() => sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('left'))), 100);
      } else {
        seen = [];
        sock.write(frame(12, 7, { invocationId: meta.invocationId, function: 'callee', path: '/fast' }));
        setTimeout(() => sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from(JSON.stringify(seen)))), 500);
      }
    }
  }
});
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const callee = await bridgeFunction(dir, 'callee', CALLEE, {
    timeoutMs: 10_000,
    scaling: { maxInstances: 2, concurrency: 1 },
  });
  expect((await p.deploy('callee', callee)).status).toBe(201);
  const caller = await bridgeFunction(dir, 'caller', CALLER, { scaling: { maxInstances: 1 } });
  expect((await p.deploy('caller', caller)).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a call id freed by a cancel and reused at once', () => {
  it('answers the new call with its own outcome', async () => {
    const first = await p.call('/caller/first', { method: 'POST' });
    expect(await first.text()).toBe('left');
    const second = await p.call('/caller/second', { method: 'POST' });
    const seen = JSON.parse(await second.text()) as { kind: number; body: string }[];
    expect(seen.map((s) => [s.kind, s.body])).toEqual([[13, 'fast answer']]);
  }, 30_000);
});
