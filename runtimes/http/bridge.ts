/**
 * The HTTP bridge: one instance process for the http runtime (docs/runtimes/custom-and-http.md). It
 * speaks runtime protocol v1 on fd 3, starts the function's own HTTP server (the argv in SKIFF_COMMAND)
 * with PORT and SKIFF_SOCKET, reports READY once the server accepts connections on either, and proxies
 * every INVOKE to it over a keep-alive agent. When the server exits, the bridge exits with code 1: the
 * platform reports a crash and starts a new instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FrameKind } from '../../src/executor/protocol/frames.js';
import type { HeaderPairs, InitMeta, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { Reaper } from '../exec/reaper.js';
import { DEFAULT_API_LIMITS, frameBackend, startApiServer } from '../shared/api-server.js';
import { BridgeConnection, MAX_RESPONSE_BYTES } from '../shared/connection.js';
import { serverOwnsPort } from './listener-owner.js';
const POLL_MS = 20;
/** After SHUTDOWN and SIGTERM, how long the server has to exit before SIGKILL, at most. */
const TERM_GRACE_MS = 1000;
/** Request headers not passed on: the bridge sets the framing itself. */
const DROP_REQUEST_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

const reaper = new Reaper();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-http-'));
const socketPath = path.join(tmpDir, 'server.sock');
/** $SKIFF_API (runtimes/shared/api-server.ts): calls for the server, in the instance's private /tmp. */
const apiSocket = path.join(tmpDir, 'api.sock');
process.on('exit', () => {
  reaper.killAll();
  rmSync(tmpDir, { recursive: true, force: true });
});

const agent = new http.Agent({ keepAlive: true });
const inflight = new Map<number, AbortController>();
let server: ChildProcess | undefined;
let serverExited = false;
let target: { host: string; port: number } | { socketPath: string } | undefined;

const connection = new BridgeConnection({
  runtime: 'http',
  onInit,
  onInvoke,
  onCancel: (id) => inflight.get(id)?.abort(),
  inFlight: () => inflight.size,
  onDrained: stopServer,
  beforeExit: () => reaper.killAll(),
});
const { writer } = connection;
const sendError = connection.sendError.bind(connection);
const exitSoon = connection.exitSoon.bind(connection);

/** Invocation ids in flight → how many INVOKEs carry it (the API serves only these). */
const liveIds = new Map<string, number>();
const api = startApiServer({
  socketPath: apiSocket,
  backend: frameBackend(() => connection.calls),
  live: (invocationId) => liveIds.has(invocationId),
  limits: { ...DEFAULT_API_LIMITS, maxBodyBytes: MAX_RESPONSE_BYTES },
});
api.catch(() => undefined); // reported at INIT

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(options: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(options);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

/**
 * Polls SKIFF_SOCKET, then PORT (IPv4 and IPv6 loopback), until one accepts a connection. A TCP port
 * counts only when every listener on it is the server's own (listener-owner.ts): a process outside
 * the server that listens there first is never sent a request.
 */
async function waitForServer(port: number, serverPid: number): Promise<typeof target> {
  let warned = false;
  for (;;) {
    if (serverExited) return undefined;
    if (existsSync(socketPath) && (await canConnect({ path: socketPath }))) return { socketPath };
    for (const host of ['127.0.0.1', '::1']) {
      if (!(await canConnect({ host, port }))) continue;
      if (serverOwnsPort(serverPid, port)) return { host, port };
      if (!warned) {
        warned = true;
        process.stderr.write(`skiff: a process outside the server listens on $PORT (${port}); ignored\n`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function parseCommand(raw: string | undefined): [string, ...string[]] {
  let argv: unknown;
  try {
    argv = JSON.parse(raw ?? '');
  } catch {
    throw new Error('SKIFF_COMMAND is not set to a JSON array: give the http runtime a "command"');
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new Error('SKIFF_COMMAND must be a non-empty JSON array of strings');
  }
  return argv as [string, ...string[]];
}

async function onInit(meta: InitMeta): Promise<void> {
  try {
    await api.catch((err: unknown) => {
      throw new Error(`cannot serve $SKIFF_API: ${(err as Error).message}`);
    });
    process.chdir(meta.codeDir);
    const [file, ...args] = parseCommand(process.env['SKIFF_COMMAND']);
    const program = file.includes('/') && !path.isAbsolute(file) ? path.resolve(meta.codeDir, file) : file;
    const port = await freePort();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !['SKIFF_PROTOCOL_FD', 'SKIFF_COMMAND'].includes(key)) env[key] = value;
    }
    Object.assign(env, {
      PORT: String(port),
      SKIFF_SOCKET: socketPath,
      SKIFF_API: apiSocket,
      SKIFF_FUNCTION: meta.function,
      SKIFF_VERSION: String(meta.version),
    });
    // The server's output goes straight to this process's stdout/stderr: instance-level log lines,
    // and its first stderr lines are in the platform's error when the start fails.
    const child = spawn(program, args, {
      cwd: meta.codeDir,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    server = child;
    if (child.pid !== undefined) reaper.add(child.pid);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
      serverExited = true;
    });
    child.on('exit', (code, signal) => {
      serverExited = true;
      if (child.pid !== undefined) reaper.signal(child.pid);
      if (target === undefined) return; // still starting: reported below
      if (connection.shuttingDown) return exitSoon(0);
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      process.stderr.write(`skiff http bridge: the server exited (${how})\n`);
      exitSoon(1);
    });
    target = await waitForServer(port, child.pid ?? -1);
    if (target === undefined) {
      await new Promise((resolve) => setImmediate(resolve));
      const why =
        spawnError !== undefined
          ? `could not start ${file}: ${spawnError.message}`
          : `the server exited (${child.signalCode ?? `exit code ${child.exitCode}`}) before it accepted connections on $PORT or $SKIFF_SOCKET`;
      sendError(0, { code: 'INIT_ERROR', message: why });
      return;
    }
    writer.send(FrameKind.READY, 0, {});
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    sendError(0, { code: 'INIT_ERROR', message: e.message });
  }
}

function requestHeaders(meta: InvokeMeta, bodyLength: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of meta.headers) {
    const key = name.toLowerCase();
    if (DROP_REQUEST_HEADERS.has(key)) continue;
    const previous = out[key];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const hasBody = bodyLength > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(meta.method);
  if (hasBody) out['content-length'] = String(bodyLength);
  out['x-skiff-invocation-id'] = meta.invocationId;
  out['x-skiff-deadline'] = String(meta.deadline);
  // W3C Trace Context as a tracing proxy hands it on: the invocation's own span is the server's parent
  if (meta.traceparent !== undefined) {
    out['traceparent'] = meta.traceparent;
    if (meta.tracestate === undefined) delete out['tracestate'];
    else out['tracestate'] = meta.tracestate;
  }
  return out;
}

function onInvoke(id: number, meta: InvokeMeta, body: Buffer): void {
  const controller = new AbortController();
  inflight.set(id, controller);
  liveIds.set(meta.invocationId, (liveIds.get(meta.invocationId) ?? 0) + 1);
  let answered = false;
  const answer = (send: () => void): void => {
    if (answered) return;
    answered = true;
    inflight.delete(id);
    const runs = (liveIds.get(meta.invocationId) ?? 1) - 1;
    if (runs > 0) liveIds.set(meta.invocationId, runs);
    else liveIds.delete(meta.invocationId);
    send();
    connection.invocationEnded();
  };
  controller.signal.addEventListener('abort', () =>
    answer(() => sendError(id, { code: 'CANCELLED', message: 'cancelled' })),
  );
  if (target === undefined) {
    answer(() => sendError(id, { code: 'FUNCTION_ERROR', message: 'INVOKE before READY' }));
    return;
  }
  const url = new URL(meta.url);
  const req = http.request({
    ...target,
    agent,
    method: meta.method,
    path: `${url.pathname}${url.search}`,
    headers: requestHeaders(meta, body.length),
    signal: controller.signal,
  });
  req.on('response', (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy();
        req.destroy();
        answer(() =>
          sendError(id, {
            code: 'RESPONSE_TOO_LARGE',
            message: `the server's response body exceeds the limit of ${MAX_RESPONSE_BYTES} bytes`,
          }),
        );
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      const headers: HeaderPairs = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        headers.push([(res.rawHeaders[i] as string).toLowerCase(), res.rawHeaders[i + 1] as string]);
      }
      const status = res.statusCode ?? 502;
      answer(() => connection.sendResult(id, status, headers, Buffer.concat(chunks)));
    });
    res.on('error', (err) => onProxyError(err));
  });
  const onProxyError = (err: Error): void => {
    if (answered) return;
    // If the server died, the bridge exits and the platform answers 502 SKIFF_E_INSTANCE_CRASHED.
    setTimeout(() => {
      if (serverExited) return;
      answer(() =>
        sendError(id, { code: 'BAD_RESPONSE', message: `the HTTP server failed to answer: ${err.message}` }),
      );
    }, 200);
  };
  req.on('error', onProxyError);
  req.end(body);
}

/** Once nothing is in flight after SHUTDOWN: SIGTERM the server, SIGKILL it if it lingers. */
function stopServer(): void {
  const pid = server?.pid;
  if (pid === undefined || serverExited) return exitSoon(0);
  reaper.signal(pid, 'SIGTERM');
  setTimeout(() => exitSoon(0), TERM_GRACE_MS).unref();
}
