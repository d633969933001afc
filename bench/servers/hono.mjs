// Baseline: the same hello world on Hono with @hono/node-server, a fast in-process Node framework
// (the ceiling for a handler that runs in the same process as the HTTP server). Both packages are
// installed on first use into bench/.cache (bench/servers/baselines.ts), whose folder is argv[3].
import { createRequire } from 'node:module';
import path from 'node:path';

const port = Number(process.argv[2] ?? 0);
const require = createRequire(path.resolve(process.argv[3] ?? '.', 'package.json'));
const { Hono } = require('hono');
const { serve } = require('@hono/node-server');

const app = new Hono();
app.get('/', (c) => c.text('Hello, world!\n'));
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
