// (C) The instance serves HTTP itself on connections handed to it over the IPC channel (SCM_RIGHTS).
import { createServer } from 'node:http';

const body = Buffer.from('Hello, world!\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
process.on('message', (message, socket) => {
  if (message === 'conn' && socket) {
    server.emit('connection', socket);
    socket.resume();
  }
});
process.send('ready');
