/**
 * OTLP over HTTP as protobuf (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, the OTLP default of other
 * SDKs): the spans reach the receiver protobuf-encoded, carrying the incoming trace id.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';

const HELLO = path.resolve(import.meta.dirname, '..', 'examples', 'hello');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

let receiver: Server | undefined;
let serve: ServeProcess | undefined;
let dataDir = '';

afterAll(async () => {
  if (serve !== undefined && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await exited(serve.child);
  }
  receiver?.close();
  if (dataDir !== '') await removeDir(dataDir);
});

it('exports spans as protobuf when OTEL_EXPORTER_OTLP_PROTOCOL is http/protobuf', async () => {
  const got: { contentType: string | undefined; body: Buffer }[] = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url === '/v1/traces') got.push({ contentType: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  dataDir = await makeDataDir();
  serve = await spawnServe(dataDir, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    },
  });
  const deployed = await deployTo(serve, 'hello-pb', HELLO);
  expect(deployed.status, deployed.text).toBe(201);
  const res = await fetch(`${serve.http}/hello-pb`, {
    headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
  });
  expect(res.status).toBe(200);
  serve.child.kill('SIGTERM');
  await exited(serve.child);
  expect(got.length).toBeGreaterThan(0);
  expect(got.every((g) => g.contentType === 'application/x-protobuf')).toBe(true);
  const all = Buffer.concat(got.map((g) => g.body));
  // protobuf carries the trace id as its 16 raw bytes, and the span's name as a string
  expect(all.includes(Buffer.from(TRACE_ID, 'hex'))).toBe(true);
  expect(all.includes(Buffer.from('hello-pb'))).toBe(true);
  expect(() => JSON.parse(all.toString('utf8')) as unknown).toThrow();
}, 120_000);
