// (B) The floor of the framed design: a Node HTTP server that forwards each request as one frame over
// one Unix socket to a separate instance process and writes the HTTP response from its answer.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameReader, frameWriter } from './frames.mjs';

const path = join(tmpdir(), `handoff-framed-${process.pid}.sock`);
rmSync(path, { force: true });
const instance = spawn(process.execPath, [new URL('./framed-instance.mjs', import.meta.url).pathname, path], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve) => instance.stdout.once('data', resolve));
const socket = connect(path);
await new Promise((resolve) => socket.once('connect', resolve));
socket.setNoDelay(true);

const waiting = new Map();
let nextId = 1;
const send = frameWriter(socket);
socket.on(
  'data',
  frameReader((id, payload) => {
    const res = waiting.get(id);
    waiting.delete(id);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': payload.length });
    res.end(payload);
  }),
);

const server = createServer((req, res) => {
  const id = nextId++ >>> 0;
  waiting.set(id, res);
  send(id, Buffer.from(`${req.method} ${req.url}`));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pids: [instance.pid] })}\n`);
});
process.on('SIGTERM', () => {
  instance.kill('SIGTERM');
  rmSync(path, { force: true });
  process.exit(0);
});
