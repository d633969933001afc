/**
 * Red team (issue 17), refused correctly (pinned): an external runtime runs in its instance's sandbox.
 * Listening on 0.0.0.0 it is still reachable only inside (its own network namespace), and from inside
 * it does not reach the platform's ports on the host's loopback.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

/** Serves every call with JSON: its own port, and whether it reached the target port on 127.0.0.1. */
const RUNTIME = `
const http2 = require('node:http2');
const net = require('node:net');
const [, port] = process.env.BAETYL_SERVICE_INSTANCE_ADDRESS.split(':');
const reach = (target) => new Promise((resolve) => {
  const s = net.connect(Number(target), '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});
const server = http2.createServer();
server.on('stream', (stream) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', async () => {
    const target = /target-(\\d+)/.exec(Buffer.concat(chunks).toString('latin1'))[1];
    const payload = Buffer.from(JSON.stringify({ port: Number(port), reached: await reach(target) }));
    const msg = Buffer.concat([Buffer.from([0x22, payload.length]), payload]);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(msg.length, 1);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.concat([prefix, msg]));
  });
});
server.listen(Number(port), '0.0.0.0');
`;

let p: TestPlatform;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-net-'));
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  writeFileSync(path.join(dir, 'rt.js'), RUNTIME);
  writeFileSync(
    path.join(dir, 'skiff.json'),
    JSON.stringify({ runtime: 'custom', flavor: 'baetyl', command: [process.execPath, 'rt.js'] }),
  );
  const res = await p.deploy('net-rt', dir);
  expect(res.status, await res.text()).toBe(201);
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

it('a runtime on 0.0.0.0 is not reachable from the host, nor reaches the platform’s control port', async () => {
  const control = Number(new URL(p.controlUrl).port);
  const res = await p.call('/net-rt', { method: 'POST', body: `target-${control}` });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const seen = JSON.parse(text) as { port: number; reached: boolean };
  expect(seen.reached).toBe(false);
  expect(await reachable(seen.port)).toBe(false);
});
