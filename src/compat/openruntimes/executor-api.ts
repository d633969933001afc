/**
 * The executor API's HTTP listener (`compat.openruntimes`, upstream's port 9900): routes, the
 * executor key, `Server: Executor` on every response, upstream's error shapes. The work is in
 * runtimes.ts (create, list, delete, reaping), executions.ts, commands.ts and log-hub.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Invocation, Result } from '../../model/invocation.js';
import type { Logger } from '../../shared/logger.js';
import { ConnectionGuard, httpServerOptions, listenAll } from '../../shared/listeners.js';
import { localUrl } from '../../shared/urls.js';
import type { FileLogStore } from '../../store/file-logs.js';
import { runCommand, type CommandDeps } from './commands.js';
import { oprError, writeOprError } from './errors.js';
import { wantsJson, writeExecution } from './execution-reply.js';
import { execute } from './executions.js';
import type { LogHub } from './log-hub.js';
import { streamBuildLogs } from './log-stream.js';
import { BodyBudget, readParams } from './params.js';
import type { Runtimes } from './runtimes.js';
import type { RuntimeRecord } from './runtime-store.js';
import { commandSchema, createSchema, executeSchema, logsSchema, parseParams } from './schemas.js';

/** The largest request body: an execution's 20 MiB body, with room for its encoding and the other fields. */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;
/**
 * Request bodies held at once, over all requests (256 connections of 32 MiB would be 8 GiB, several
 * times that once parsed): past it a request is refused until others are answered.
 */
const MAX_BODIES_BYTES = 256 * 1024 * 1024;
/** Log streams open at once. */
const MAX_LOG_STREAMS = 64;

/** The runtime id of a route's match (a malformed percent-encoding names no runtime). */
function runtimeIdOf(match: RegExpExecArray): string {
  try {
    return decodeURIComponent(match[1] ?? '');
  } catch {
    throw oprError('runtime_not_found', 'Runtime not found');
  }
}

export interface ExecutorApiOptions {
  host: string;
  port: number;
  secret: string;
  version: string;
  runtimes: Runtimes;
  hub: LogHub;
  logs: FileLogStore;
  commands: CommandDeps;
  logger: Logger;
}

/** True when `authorization: <word> <secret>` (upstream) or `x-executor-key: <secret>` carries the key. */
export function hasKey(req: IncomingMessage, secret: string): boolean {
  const given: string[] = [];
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') given.push(authorization.split(' ')[1] ?? '');
  const key = req.headers['x-executor-key'];
  if (typeof key === 'string') given.push(key);
  const expected = Buffer.from(secret);
  return given.some((value) => {
    const bytes = Buffer.from(value);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  });
}

/** The runtime as listed (upstream's ten fields; `key` is never returned). */
function runtimeView(record: RuntimeRecord): Record<string, unknown> {
  return {
    version: record.version,
    created: record.created,
    updated: record.updated,
    name: record.runtimeId,
    hostname: record.fn,
    status: `Up ${(Date.now() / 1000 - record.created).toFixed(1)}s`,
    key: '',
    listening: 1,
    image: record.image,
    initialised: 1,
  };
}

function pendingView(runtimeId: string): Record<string, unknown> {
  const now = Date.now() / 1000;
  return {
    version: '',
    created: now,
    updated: now,
    name: runtimeId,
    hostname: '',
    status: 'pending',
    key: '',
    listening: 0,
    image: '',
    initialised: 0,
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
}

interface Route {
  method: string;
  pattern: RegExp;
  /** The key is needed (every route but health). */
  auth: boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray): Promise<void>;
}

export async function startExecutorApi(
  o: ExecutorApiOptions,
  invoke: (inv: Invocation) => Promise<Result>,
): Promise<{ url: string; stop(): Promise<void> }> {
  let logStreams = 0;
  const bodies = new BodyBudget(MAX_BODIES_BYTES);
  const runtimeOr404 = (id: string): RuntimeRecord => {
    const record = o.runtimes.get(id);
    if (record === undefined) throw oprError('runtime_not_found', 'Runtime not found');
    return record;
  };
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v1\/health$/,
      auth: false,
      handle: async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('OK');
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/runtimes$/,
      auth: true,
      handle: async (_req, res) => {
        sendJson(res, 200, [...o.runtimes.list().map(runtimeView), ...o.runtimes.pending().map(pendingView)]);
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/runtimes$/,
      auth: true,
      handle: async (req, res, url) => {
        const params = parseParams(createSchema, await readParams(req, url, MAX_REQUEST_BYTES, bodies));
        sendJson(res, 201, await o.runtimes.create(params));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/runtimes\/([^/]+)$/,
      auth: true,
      handle: async (_req, res, _url, match) => {
        sendJson(res, 200, runtimeView(runtimeOr404(runtimeIdOf(match))));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\/runtimes\/([^/]+)$/,
      auth: true,
      handle: async (req, res, _url, match) => {
        req.resume();
        if (!(await o.runtimes.remove(runtimeIdOf(match)))) {
          throw oprError('runtime_not_found', 'Runtime not found');
        }
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/runtimes\/([^/]+)\/executions?$/,
      auth: true,
      handle: async (req, res, url, match) => {
        const started = Date.now();
        const params = parseParams(executeSchema, await readParams(req, url, MAX_REQUEST_BYTES, bodies));
        const format = String(req.headers['x-executor-response-format'] ?? '0.10.0');
        const outcome = await execute(
          { runtimes: o.runtimes, logs: o.logs, invoke },
          runtimeIdOf(match),
          params,
          format,
          started,
        );
        writeExecution(res, outcome, wantsJson(req.headers.accept));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/runtimes\/([^/]+)\/commands$/,
      auth: true,
      handle: async (req, res, url, match) => {
        const params = parseParams(commandSchema, await readParams(req, url, MAX_REQUEST_BYTES, bodies));
        const record = runtimeOr404(runtimeIdOf(match));
        sendJson(res, 200, { output: await runCommand(o.commands, record, params) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/runtimes\/([^/]+)\/logs$/,
      auth: true,
      handle: (req, res, url, match) => streamLogs(url, req, res, runtimeIdOf(match)),
    },
  ];

  /** The build log stream (log-stream.ts), at most MAX_LOG_STREAMS at once. */
  const streamLogs = async (
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
  ): Promise<void> => {
    const { timeout } = parseParams(logsSchema, Object.fromEntries(url.searchParams));
    if (logStreams >= MAX_LOG_STREAMS) {
      throw oprError(
        'logs_timeout',
        `${MAX_LOG_STREAMS} log streams are open, the executor's limit; try again later.`,
      );
    }
    logStreams += 1;
    try {
      await streamBuildLogs(req, res, o.hub, id, {
        timeoutMs: timeout * 1000,
        waitForCreation: o.runtimes.get(id) === undefined,
      });
    } finally {
      logStreams -= 1;
    }
  };

  const app = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('server', 'Executor');
    try {
      const url = new URL(req.url ?? '/', 'http://executor');
      const matching = routes.filter((route) => route.pattern.test(url.pathname));
      const route = matching.find((candidate) => candidate.method === req.method);
      if (route === undefined) {
        req.resume();
        throw oprError('general_route_not_found', 'Not Found');
      }
      if (route.auth) {
        if (!hasKey(req, o.secret)) {
          req.resume();
          throw oprError('general_unauthorized', 'Missing executor key');
        }
        guard.prove(req.socket);
      }
      const match = route.pattern.exec(url.pathname) as RegExpExecArray;
      await route.handle(req, res, url, match);
    } catch (err) {
      writeOprError(res, err, o.version);
    } finally {
      bodies.release(req);
    }
  };

  const guard = new ConnectionGuard(
    'openruntimes',
    {
      maxConnections: 256,
      maxPerAddress: 128,
      idleTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 60_000,
      evictUnproven: true,
    },
    o.logger,
  );
  const servers: Server[] = [];
  const listening = await listenAll(
    () => {
      const server = createServer(
        httpServerOptions({ headersTimeoutMs: 10_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000 }),
        (req, res) => void app(req, res),
      );
      guard.attachHttp(server);
      servers.push(server);
      return server;
    },
    o.host,
    o.port,
  );
  return {
    url: localUrl('http', listening.address),
    async stop() {
      guard.close();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
