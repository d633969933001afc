/**
 * Red team, hostile LOCAL CLIENT with no id at all: an unfinished gRPC request on a host listener
 * blocks the platform's shutdown. `AttachedInstance.stop()` closes its listener with grpc-js
 * `tryShutdown`, which waits for every open stream to end; a client that opens a stream to
 * `/edgeless_api.GuestAPIHost/Cast` and never finishes the message keeps it open, so `stop()` (and
 * with it the platform's `stop(graceMs)`, which stops the node before anything else) never returns.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
let guest: HostileGuest;
let session: http2.ClientHttp2Session | undefined;

beforeAll(async () => {
  guest = await startHostileGuest();
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
  const res = await platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url)),
  });
  expect(res.status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  session?.destroy();
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: a half-sent host request and shutdown', () => {
  it('stop(1000) returns while a local client holds an unfinished stream on a host listener', async () => {
    const endpoint = guest.boot()?.endpoint ?? '';
    session = http2.connect(endpoint);
    session.on('error', () => undefined);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/edgeless_api.GuestAPIHost/Cast',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    // a gRPC frame header announcing 1000 bytes, then 10 of them, then nothing
    const header = Buffer.from([0, 0, 0, 0x03, 0xe8]);
    await new Promise((resolve) => stream.write(Buffer.concat([header, Buffer.alloc(10)]), resolve));
    const started = Date.now();
    const outcome = await Promise.race([
      platform.server.stop(1000).then(() => 'stopped'),
      new Promise<string>((resolve) => setTimeout(() => resolve('still stopping'), 10_000)),
    ]);
    const took = Date.now() - started;
    expect(outcome, `stop(1000) after ${took} ms`).toBe('stopped');
  });
});
