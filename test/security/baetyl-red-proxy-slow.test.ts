/**
 * Slow and many clients on the v2 proxy, a listener of its own: it keeps the platform's connection
 * rules (the same guard and timeouts as the HTTP gateway). A client that trickles its headers is cut
 * off after `connections.headersTimeoutMs`, and one address holds at most
 * `connections.maxPerAddress` connections (a slowloris from one address cannot take all 512).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let proxy: URL;
const sockets: Socket[] = [];

beforeAll(async () => {
  p = await startPlatform({
    config: {
      connections: { headersTimeoutMs: 1000, maxPerAddress: 4 },
      compat: { baetyl: { enabled: true, proxy: { port: 0 } } },
    },
  });
  expect((await p.deploy('bin', fixture('bin-echo'))).status).toBe(201);
  servicesFor(p.dataDir).set('svc', ['bin']);
  proxy = new URL(p.server.endpoints['baetyl-proxy'] as string);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
});

/** A connection that sends a request line and then one header byte every 200 ms; resolves when it is closed. */
function trickle(): { closed: Promise<number> } {
  const started = Date.now();
  const socket = connect(Number(proxy.port), proxy.hostname);
  sockets.push(socket);
  const timer = setInterval(() => socket.write('x'), 200);
  socket.on('connect', () => socket.write('POST /svc HTTP/1.1\r\nHost: a\r\nX-Slow: '));
  socket.on('error', () => undefined);
  socket.resume();
  return {
    closed: new Promise((resolve) =>
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      }),
    ),
  };
}

describe('slow clients on the proxy', () => {
  it('cuts off a client that trickles its headers', async () => {
    const ms = await trickle().closed;
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(8000);
  }, 15_000);

  it('holds at most maxPerAddress connections of one address, and answers after them', async () => {
    const slow = [trickle(), trickle(), trickle(), trickle()];
    const extra = trickle();
    expect(await extra.closed).toBeLessThan(900);
    await Promise.all(slow.map((s) => s.closed));
    const res = await fetch(`${proxy.origin}/svc`, { method: 'POST', body: 'still here' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('still here');
  }, 20_000);
});
