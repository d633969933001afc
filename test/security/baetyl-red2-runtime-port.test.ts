/**
 * Red team (issue 17): the Baetyl runtime shim picks a free loopback port, closes it, starts the
 * runtime with that address and dials it. Without a sandbox the loopback is shared: a stranger that
 * listens on the port first (here: after the runtime learnt its address and before it listens) must
 * never be dialled, or it receives the function's messages and answers in its name. The HTTP bridge
 * has the same guarantee (runtimes/http/listener-owner.ts); in bubblewrap the loopback is the
 * instance's own anyway.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, removeDir, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;
let stranger: http2.Http2Server | undefined;
const seen: string[] = [];

/** A "runtime" that tells the test its address, then waits (the stranger takes the port meanwhile). */
const RUNTIME = `
const fs = require('node:fs');
const address = process.env.BAETYL_SERVICE_INSTANCE_ADDRESS;
fs.writeFileSync(process.env.HIJACK_DIR + '/address', address);
setInterval(() => {}, 1000);
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-port-'));
  p = await startPlatform({
    config: {
      sandbox: { mode: 'none', insecureNoSandbox: true },
      compat: { baetyl: { enabled: true, proxy: { port: 0 } } },
    },
  });
});

afterAll(async () => {
  await p.stop();
  stranger?.close();
  await removeDir(dir);
});

it('a stranger listening first on the runtime’s port is never sent the function’s messages', async () => {
  const code = path.join(dir, 'code');
  const shared = path.join(dir, 'shared');
  for (const d of [code, shared]) rmSync(d, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(code), fs.mkdir(shared)]));
  writeFileSync(path.join(code, 'rt.js'), RUNTIME);
  writeFileSync(
    path.join(code, 'skiff.json'),
    JSON.stringify({
      runtime: 'custom',
      flavor: 'baetyl',
      command: [process.execPath, 'rt.js'],
      handler: 'index.handler',
      env: { HIJACK_DIR: shared },
      startTimeoutMs: 3000,
    }),
  );
  const deploying = p.deploy('hijacked', code);
  const addressFile = path.join(shared, 'address');
  await waitFor('the runtime’s address', () => (existsSync(addressFile) ? true : undefined), 20_000);
  const [host, port] = readFileSync(addressFile, 'utf8').split(':');
  // the stranger: a gRPC server that takes the call and answers in the function's name
  stranger = http2.createServer();
  stranger.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      seen.push(`${String(headers[':path'])} ${Buffer.concat(chunks).toString('latin1')}`);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => stranger?.listen(Number(port), host, resolve));
  const res = await deploying;
  const text = await res.text();
  if (res.status === 201) {
    // deployed against the stranger: a call must not reach it
    await p.call('/hijacked', { method: 'POST', body: 'private-payload' }).then((r) => r.text());
  }
  expect(seen).toEqual([]);
  expect(res.status, text).not.toBe(201);
}, 60_000);
