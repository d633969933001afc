/**
 * Red team of the Open Runtimes flavor (docs/compat/openruntimes.md), as a hostile client and as a
 * hostile function author. Each test asserts the safe, documented behaviour:
 * - a client's Host header must not make a Python function fail before main() runs (the port of
 *   `Host: a:²` passes str.isdigit() but int() refuses it; so does a port of more than 4300 digits);
 * - a Python main() raising SystemExit is "a raise": 500 with an empty body, as every other raise;
 * - a Node function returning a status outside 200-599 gets the 500 with an empty body that the Python
 *   flavor gives (the docs call that range Skiff's rule for every function);
 * - a line logged after an invocation ended is never attributed to another invocation in flight.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
  await p.deployAll({ orpy: 'or-red-py', ornode: 'or-red-node' });
}, 120_000);

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

/** One raw HTTP/1.1 GET with the Host header's bytes as given (latin1), the whole reply as text. */
function rawGet(route: string, host: Buffer): Promise<{ status: number; body: string }> {
  const url = new URL(p.httpUrl);
  const request = Buffer.concat([
    Buffer.from(`GET ${route} HTTP/1.1\r\nHost: `),
    host,
    Buffer.from('\r\nConnection: close\r\n\r\n'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error('no reply in 20 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('a hostile client of an Open Runtimes Python function', () => {
  it('a Host header whose port is not an ASCII number does not fail a function that never reads it', async () => {
    for (const host of [Buffer.from('a:\xb2', 'latin1'), Buffer.from(`a:${'9'.repeat(5000)}`)]) {
      const reply = await rawGet('/orpy', host);
      expect(reply, `Host ${host.toString('latin1').slice(0, 12)}`).toEqual({ status: 200, body: 'ok' });
    }
  }, 60_000);
});

describe('a hostile author of an Open Runtimes function', () => {
  it('a Python main() raising SystemExit answers 500 with an empty body, the instance serving on', async () => {
    const res = await p.call('/orpy/exit');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    const next = await p.call('/orpy');
    expect(await next.text()).toBe('ok');
  }, 60_000);

  it('a Node status outside 200-599 answers 500 with an empty body, as in Python', async () => {
    for (const route of ['/ornode/status?s=999', '/ornode/status?s=100', '/ornode/nan']) {
      const res = await p.call(route);
      expect({ route, status: res.status, body: await res.text() }).toEqual({ route, status: 500, body: '' });
    }
  }, 60_000);

  it('a Node line logged after its invocation ended is not attributed to another one in flight', async () => {
    const ended = await p.call('/ornode/late?tag=A');
    expect(await ended.text()).toBe('a');
    const other = await p.call('/ornode/wait');
    expect(await other.text()).toBe('b');
    const otherId = other.headers.get('x-skiff-invocation-id');
    expect(otherId).toBeTruthy();
    await waitUntil('the late line in the logs', async () =>
      (await p.logs('ornode')).some((l) => l.message === 'late line of A'),
    );
    const late = (await p.logs('ornode')).filter((l) => l.message === 'late line of A');
    for (const line of late) expect(line.invocationId).not.toBe(otherId);
  }, 60_000);
});
