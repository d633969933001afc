// Runs inside a build's sandbox, which has no network but its own loopback (README, "Builds"):
//   node build-proxy.mjs <proxy socket> -- <command> [args ...]
// listens on 127.0.0.1:<free port> of the sandbox, pipes every connection to the platform's build
// proxy (a Unix socket bound into the sandbox), and runs the command with the usual proxy variables
// pointing there (npm, pip). Exits with the command's status.
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

const [socketPath, separator, command, ...args] = process.argv.slice(2);
if (socketPath === undefined || separator !== '--' || command === undefined) {
  process.stderr.write('usage: build-proxy.mjs <socket> -- <command> [args ...]\n');
  process.exit(2);
}

const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
  client.on('close', end);
  upstream.on('close', end);
  client.pipe(upstream);
  upstream.pipe(client);
});

server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const env = {
    ...process.env,
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
  };
  const child = spawn(command, args, { stdio: 'inherit', env });
  child.on('error', (err) => {
    process.stderr.write(`cannot run ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal === null ? 0 : (os.constants.signals[signal] ?? 0)));
  });
});
