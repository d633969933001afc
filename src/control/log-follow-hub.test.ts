/**
 * The bounds of log streams against a client that does not read: a real HTTP server and a real
 * socket that never reads; the stream is cut, never buffered for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLogStore } from '../store/file-logs.js';
import { LogFollowHub } from './log-follow-hub.js';
import { waitUntil } from '../../test/helpers/wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a log stream whose client does not read', () => {
  it('is cut once 64 KiB wait unsent, and the hub lets it go', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-follow-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const logs = new FileLogStore(dir, { bytesPerSec: Infinity, burstBytes: Infinity });
    cleanups.push(() => logs.close());
    const hub = new LogFollowHub(logs, {
      maxStreams: 4,
      heartbeatMs: 60_000,
      maxBufferedBytes: 64 * 1024,
      maxCatchUpBytes: 1024 * 1024,
    });
    cleanups.push(() => hub.close());
    const server: Server = createServer((_req, res) => {
      void hub.follow(res, { fn: 'f', filter: {}, limit: 10, lastEventId: undefined });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as net.AddressInfo;

    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    socket.pause(); // never reads: the kernel's buffers fill, then the stream's own
    let closedByServer = false;
    socket.on('close', () => (closedByServer = true));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitUntil('the stream to open', () => hub.size === 1);

    const message = 'y'.repeat(16_000);
    // up to 64 MiB, in rounds that let the file catch up; the cut comes long before
    for (let round = 0; round < 256 && hub.size > 0; round++) {
      for (let i = 0; i < 16; i++) logs.append('f', { stream: 'stdout', level: 'info', message });
      await logs.tail('f', 1);
    }
    expect(hub.size).toBe(0);
    socket.resume();
    await waitUntil('the server to close the connection', () => closedByServer);
  }, 60_000);
});
