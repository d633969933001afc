/**
 * Header names a function returns that are also keys of every JavaScript object (`constructor`,
 * `toString`, `__proto__`): the gateway gathers repeated headers by name, and must not mistake an
 * inherited property for a header it already has (which sent `constructor: function Object() {...}`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const HEADERS = [
  ['constructor', 'c'],
  ['toString', 't'],
  ['__proto__', 'p'],
  ['x-same', '1'],
  ['x-same', '2'],
];

// HELLO, READY after INIT, and a RESULT with HEADERS for every INVOKE.
const BRIDGE = `
const net = require('node:net');
const sock = new net.Socket({ fd: 3, readable: true, writable: true });
function frame(kind, id, meta) {
  const m = Buffer.from(JSON.stringify(meta));
  const out = Buffer.alloc(13 + m.length);
  out.writeUInt32BE(9 + m.length, 0); out.writeUInt8(kind, 4); out.writeUInt32BE(id, 5);
  out.writeUInt32BE(m.length, 9); m.copy(out, 13);
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
    if (kind === 2) sock.write(frame(3, 0, {}));
    if (kind === 4) sock.write(frame(5, id, { status: 200, headers: ${JSON.stringify(HEADERS)} }));
  }
});
`;

describe('result headers named like Object.prototype keys', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = path.join(dir, 'fn');
    await mkdir(fn);
    await writeFile(path.join(fn, 'bridge.cjs'), BRIDGE);
    await writeFile(
      path.join(fn, 'skiff.json'),
      JSON.stringify({ runtime: 'custom', command: ['node', 'bridge.cjs'] }),
    );
    platform = await startPlatform();
    const res = await platform.deploy('protokeys', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('are sent as the function gave them', async () => {
    const res = await platform.call('/protokeys');
    expect(res.status).toBe(200);
    expect(res.headers.get('constructor')).toBe('c');
    expect(res.headers.get('tostring')).toBe('t');
    expect(res.headers.get('__proto__')).toBe('p');
    expect(res.headers.get('x-same')).toBe('1, 2');
  }, 30_000);
});
