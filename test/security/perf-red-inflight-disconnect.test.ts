/**
 * Red team (gateway): `http.maxInFlightPerAddress` counts a client's requests in progress. A request's
 * invocation runs on when its caller disconnects, so a client that sent requests and closed their
 * connections at once had its slots back while the work it started still ran or waited: fire and
 * disconnect, and one address had any number of invocations in progress. The slot is now held until the
 * invocation has ended too.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform({ config: { http: { maxInFlightPerAddress: 2 } } });
  expect((await p.deploy('sleepy', fixture('sleepy'))).status).toBe(201);
});

afterAll(async () => {
  await p.stop();
});

async function inProgress(): Promise<number> {
  const body = (await (await p.api('/v1/functions/sleepy')).json()) as {
    function: { status: { queued: number; inFlight: number } };
  };
  return body.function.status.queued + body.function.status.inFlight;
}

describe('gateway: requests in progress per client', () => {
  it('keeps counting an invocation whose caller disconnected until it ends', async () => {
    const port = Number(new URL(p.httpUrl).port);
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET /sleepy?ms=2500 HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitUntil('the call in progress', async () => (await inProgress()) === i + 1, 5000);
      socket.destroy();
    }
    const third = await p.call('/sleepy');
    expect(third.status).toBe(429);
    await third.text();
  }, 15_000);
});
