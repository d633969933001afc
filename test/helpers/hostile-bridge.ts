/**
 * Hand-written bridges for attack tests: a `custom` runtime whose Node script speaks the runtime
 * protocol by hand (docs/runtime-protocol.md) on fd 3 and does what a hostile function's code could.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Bridge source defining `frame(kind, id, meta, body?)`: one runtime-protocol v1 frame as a Buffer. */
const FRAME = `
function frame(kind, id, meta, body = Buffer.alloc(0)) {
  const m = Buffer.from(JSON.stringify(meta));
  const out = Buffer.alloc(13 + m.length + body.length);
  out.writeUInt32BE(9 + m.length + body.length, 0); out.writeUInt8(kind, 4); out.writeUInt32BE(id, 5);
  out.writeUInt32BE(m.length, 9); m.copy(out, 13); body.copy(out, 13 + m.length);
  return out;
}
`;

/** A bridge script of `source`, with `frame` defined before it (for bridges that do not read fd 3). */
export function rawBridge(source: string): string {
  return `${FRAME}\n${source}`;
}

/**
 * A bridge script that says HELLO, answers INIT with READY and PING with PONG, and runs `onInvoke` (the
 * source of a statement block with `sock`, `frame`, `id`, `meta` (parsed) and `body` (a Buffer) in
 * scope) for every INVOKE.
 */
export function answeringBridge(onInvoke: string): string {
  return rawBridge(`
const net = require('node:net');
const sock = new net.Socket({ fd: 3, readable: true, writable: true });
sock.write(frame(1, 0, { protocol: 1, runtime: 'hostile' }));
let buf = Buffer.alloc(0);
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
    else if (kind === 4) {
${onInvoke}
    }
  }
});
`);
}

/** A function folder `<dir>/<name>` holding `bridge.cjs` and a `custom` skiff.json that runs it (plus `spec`). */
export async function bridgeFunction(
  dir: string,
  name: string,
  script: string,
  spec: Record<string, unknown> = {},
): Promise<string> {
  const fn = path.join(dir, name);
  await mkdir(fn);
  await writeFile(path.join(fn, 'bridge.cjs'), script);
  await writeFile(
    path.join(fn, 'skiff.json'),
    JSON.stringify({ runtime: 'custom', command: ['node', 'bridge.cjs'], ...spec }),
  );
  return fn;
}
