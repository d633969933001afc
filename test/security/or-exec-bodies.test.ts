/**
 * Red team of the executor API: a client with the key opens many executions at once, each with a
 * body just under the 32 MiB a request may have, and holds back its last byte. Every body is held in
 * memory while it arrives: without a bound over all requests, 256 connections hold 8 GiB (more once
 * parsed). The listener must refuse past a bound and keep serving.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;

beforeAll(async () => {
  e = await startExecutor();
  const source = await e.source('functions/b/code.tar.gz', OK_FUNCTION);
  const res = await e.call('/runtimes', {
    method: 'POST',
    json: { runtimeId: 'b', image: NODE_IMAGE, source },
  });
  expect(res.status, await res.text()).toBe(201);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

describe('many large bodies held at once', () => {
  it('are bounded over all requests, and the listener serves on', async () => {
    const size = 30 * 1024 * 1024;
    const count = 20;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const port = Number(new URL(e.url).port);
    const sockets: net.Socket[] = [];
    const answered: string[] = [];
    global.gc?.();
    const before = process.memoryUsage().rss;
    try {
      for (let i = 0; i < count; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        socket.on('data', (data: Buffer) => answered.push(data.toString('latin1').slice(0, 12)));
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          `POST /v1/runtimes/b/executions HTTP/1.1\r\nHost: x\r\nx-executor-key: ${KEY}\r\n` +
            `content-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
        );
        sockets.push(socket);
      }
      // all but the last byte of every body
      for (let sent = 0; sent < size - 1; sent += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - 1 - sent));
        await Promise.all(sockets.map((s) => new Promise((resolve) => s.write(part, resolve))));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
      expect(grown, `the platform grew by ${grown.toFixed(0)} MiB`).toBeLessThan(400);
      expect(answered.length, 'requests refused before their body ended').toBeGreaterThan(0);
      const res = await e.call('/runtimes/b/executions', { method: 'POST', json: {} });
      expect(((await res.json()) as { body: string }).body).toBe('ok');
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  }, 60_000);
});
