// Baseline: a bare Node `http.createServer` answering the same hello world (the limit for a Node front door).
import { createServer } from 'node:http';

const body = Buffer.from('Hello, world!\n');
const port = Number(process.argv[2] ?? 0);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
