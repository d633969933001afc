/**
 * Red team of the executor API's listener: clients without the key, malformed requests, and a
 * client with the key that opens a build log stream and never reads it while the build prints
 * hundreds of megabytes (the stream buffered all of it in the platform's memory).
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;
let source: string;

beforeAll(async () => {
  e = await startExecutor();
  source = await e.source('functions/l/code.tar.gz', OK_FUNCTION);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

const port = (): number => Number(new URL(e.url).port);

describe('a client without the key', () => {
  it('reaches nothing but health, whatever form of the key it guesses', async () => {
    const routes: [string, string][] = [
      ['GET', '/runtimes'],
      ['POST', '/runtimes'],
      ['GET', '/runtimes/x'],
      ['DELETE', '/runtimes/x'],
      ['POST', '/runtimes/x/executions'],
      ['POST', '/runtimes/x/commands'],
      ['GET', '/runtimes/x/logs?timeout=1'],
    ];
    const guesses: Record<string, string>[] = [
      {},
      { authorization: KEY },
      { authorization: 'Bearer' },
      { authorization: 'Bearer  k' },
      { authorization: 'Bearer K' },
      { 'x-executor-key': '' },
      { 'x-executor-key': 'kk' },
    ];
    for (const [method, route] of routes) {
      for (const headers of guesses) {
        const res = await fetch(`${e.url}${route}`, { method, headers: { authorization: '', ...headers } });
        expect(res.status, `${method} ${route} ${JSON.stringify(headers)}`).toBe(401);
        await res.arrayBuffer();
      }
    }
    expect((await fetch(`${e.url}/health`)).status).toBe(200);
  }, 30_000);

  it('holding hundreds of half-open connections does not keep a keyed client out', async () => {
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const socket = net.connect(port(), '127.0.0.1');
        socket.on('error', () => {});
        socket.write('GET /v1/runtimes HTTP/1.1\r\nHost: x\r\n');
        sockets.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      const res = await e.call('/runtimes');
      expect(res.status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  }, 30_000);
});

describe('a client with the key', () => {
  it('a malformed percent-encoded runtime id is a 404, not a 500', async () => {
    for (const [method, route] of [
      ['GET', '/runtimes/%E0%A4%A'],
      ['DELETE', '/runtimes/%'],
      ['POST', '/runtimes/%ZZ/commands'],
    ] as const) {
      const res = await e.call(route, { method, json: method === 'POST' ? { command: 'true' } : undefined });
      expect(res.status, `${method} ${route}`).toBe(404);
      expect(((await res.json()) as { type: string }).type).toBe('runtime_not_found');
    }
  });

  it('a log stream it never reads does not hold the build output in memory', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /v1/runtimes/loud/logs?timeout=60 HTTP/1.1\r\nHost: x\r\nx-executor-key: ${KEY}\r\n\r\n`,
    );
    // the client reads nothing more than the kernel buffers for it
    socket.pause();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // what is held, not what a collection has not reached yet (Node.js 24 collects later than 20)
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      gc();
      const before = process.memoryUsage().rss;
      const mb = 400;
      const reply = await e.call('/runtimes', {
        method: 'POST',
        json: {
          runtimeId: 'loud',
          image: NODE_IMAGE,
          source,
          command: `head -c ${mb * 1024 * 1024} /dev/zero | tr '\\0' a; true`,
          remove: true,
        },
      });
      expect(reply.status).toBe(201);
      await reply.arrayBuffer();
      gc();
      const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
      expect(grown, `the platform grew by ${grown.toFixed(0)} MiB`).toBeLessThan(mb / 3);
    } finally {
      socket.destroy();
    }
  }, 60_000);
});
