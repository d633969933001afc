// (B) The do-nothing instance: listens on a Unix socket, answers every frame with the hello body.
import { createServer } from 'node:net';
import { frameReader, frameWriter } from './frames.mjs';

const body = Buffer.from('Hello, world!\n');
const server = createServer((socket) => {
  const send = frameWriter(socket);
  socket.on(
    'data',
    frameReader((id) => send(id, body)),
  );
});
server.listen(process.argv[2], () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
