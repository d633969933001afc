/**
 * Red team (issue 17): a hostile external runtime's replies. Whatever the runtime answers over gRPC
 * (an endless reply, one byte at a time, a huge error text, a reply that is no gRPC message), the call
 * gets a bounded answer, the platform keeps serving, and the function's next call still works.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const RUNTIME = `
const http2 = require('node:http2');
const [host, port] = process.env.BAETYL_SERVICE_INSTANCE_ADDRESS.split(':');
const server = http2.createServer();
server.on('stream', (stream) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    const req = Buffer.concat(chunks).toString('latin1');
    const mode = ['endless', 'slow', 'details', 'garbage'].find((m) => req.includes('mode-' + m)) ?? 'ok';
    if (mode === 'details') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '2', 'grpc-message': 'x'.repeat(60000) }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    if (mode === 'ok') return stream.end(Buffer.from([0, 0, 0, 0, 4, 0x22, 2, 0x6f, 0x6b]));
    if (mode === 'garbage') return stream.end(Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    if (mode === 'slow') {
      const header = Buffer.from([0, 0, 0, 0, 100]);
      let i = 0;
      const t = setInterval(() => { if (stream.destroyed || i >= 105) return clearInterval(t); stream.write(i < 5 ? header.subarray(i, i + 1) : Buffer.from('a')); i++; }, 200);
      return;
    }
    // endless: a reply that claims 4 GiB and never ends
    stream.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff]));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    const pump = () => { while (!stream.destroyed && stream.write(chunk)); if (!stream.destroyed) stream.once('drain', pump); };
    pump();
  });
});
server.listen(Number(port), host);
`;

let p: TestPlatform;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-replies-'));
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  writeFileSync(path.join(dir, 'rt.js'), RUNTIME);
  writeFileSync(
    path.join(dir, 'skiff.json'),
    JSON.stringify({
      runtime: 'custom',
      flavor: 'baetyl',
      command: [process.execPath, 'rt.js'],
      timeoutMs: 3000,
    }),
  );
  const res = await p.deploy('replies', dir);
  expect(res.status, await res.text()).toBe(201);
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

const call = async (mode: string) => {
  const started = Date.now();
  const res = await p.call('/replies', { method: 'POST', body: `mode-${mode}` });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, ms: Date.now() - started };
};

it.each([
  ['endless', 500],
  ['slow', 504],
  ['garbage', 502],
])('a %s reply gets a bounded error, and the next call works', async (mode, status) => {
  const res = await call(mode);
  expect(res.status, res.body.toString().slice(0, 300)).toBe(status);
  expect(res.body.length).toBeLessThan(64 * 1024);
  expect(res.ms).toBeLessThan(10_000);
  expect((await p.api('/v1/health')).status).toBe(200);
  const next = await call('ok');
  expect(next.status, next.body.toString().slice(0, 300)).toBe(200);
  expect(next.body.toString()).toBe('ok');
});

it('a huge error text is the 500 body the flavor promises, bounded', async () => {
  const res = await call('details');
  expect(res.status).toBe(500);
  expect(res.body.length).toBeLessThanOrEqual(60000);
});
