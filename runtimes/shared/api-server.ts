/**
 * `$SKIFF_API`: composition for functions that are not a bridge of ours in-process (binary and http
 * runtimes; docs/composition.md, "From binary, custom and http runtimes"). HTTP/1.1 on a Unix socket in
 * the instance's private /tmp, served by the bridge; every request names the invocation it is made for
 * in `X-Skiff-Invocation-Id`, and the bridge turns it into a frame on the instance's protocol socket:
 *
 *   ANY    /call/{function}/{path...}   → CALL; the callee's status, headers and body are the response
 *   POST   /cast/{function}[?delayMs=N] → CAST (202 {"id", "ids"})
 *   GET|PUT|DELETE /state/{key}         → STATE get/set/delete (PUT and DELETE take If-Match: <version>)
 *   GET    /state?prefix=P              → STATE list
 *
 * Refusals are JSON `{"error":{"code","message"}}` with the code's HTTP status. Everything a process
 * inside could grow is bounded: the body (the call body limit), the header section, connections at once,
 * and the time to send a request or to keep an idle connection open.
 */
import http from 'node:http';
import type net from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import type { CallMeta, HeaderPairs } from '../../src/executor/protocol/messages.js';
import { FrameKind } from '../../src/executor/protocol/frames.js';
import { ApiError, discardRest, readBody, statusOf } from './api-body.js';
import { CallError, type CallClient, type CallReply } from './calls.js';

/** CAST meta (frame 15), as the wire shapes fix it. */
export interface ApiCastMeta {
  invocationId: string;
  function: string;
  delayMs?: number;
  method?: string;
  path?: string;
  headers?: HeaderPairs;
}

/** STATE meta (frame 16), as the wire shapes fix it. */
export interface ApiStateMeta {
  invocationId: string;
  op: 'get' | 'set' | 'delete' | 'list';
  key?: string;
  prefix?: string;
  ifVersion?: number;
  contentType?: string;
}

/** What the API sends its requests to: the bridge's frames. Without `cast` or `state`, those answer 501. */
export interface ApiBackend {
  call(meta: CallMeta, body: Buffer): Promise<CallReply>;
  cast?(meta: ApiCastMeta, body: Buffer): Promise<CallReply>;
  state?(meta: ApiStateMeta, body: Buffer): Promise<CallReply>;
}

/**
 * The backend of a bridge that speaks the frames: CALL, STATE (and CAST) out through its call client,
 * REPLY and FAIL back. `calls` is read per request (the connection may be made after the server).
 */
export function frameBackend(calls: () => CallClient): ApiBackend {
  return {
    call: (meta, body) => calls().call(meta, body),
    cast: (meta, body) => calls().request(FrameKind.CAST, meta, body),
    state: (meta, body) => calls().request(FrameKind.STATE, meta, body),
  };
}

export interface ApiLimits {
  /** The largest request body (the call body limit). */
  maxBodyBytes: number;
  /** The request line and headers together. */
  maxHeaderBytes: number;
  /** Connections open at once; more are closed at once. */
  maxConnections: number;
  /** Time to send a whole request (headers and body). */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection stays open. */
  idleTimeoutMs: number;
}

export const DEFAULT_API_LIMITS: Omit<ApiLimits, 'maxBodyBytes'> = {
  maxHeaderBytes: 16 * 1024,
  maxConnections: 32,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
};

export interface ApiServerOptions {
  socketPath: string;
  backend: ApiBackend;
  /** True while the invocation is in flight in this instance; other ids are refused without a frame. */
  live(invocationId: string): boolean;
  limits: ApiLimits;
}

/** The same bounds the platform puts on a CALL's meta (a CALL over them would end the instance). */
const MAX_NAME_CHARS = 256;
const MAX_PATH_CHARS = 8 * 1024;
const MAX_ID_CHARS = 128;
/** Request headers not passed on to the callee: framing, and what only speaks to this API. */
const DROP_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'expect',
  'upgrade',
  'x-skiff-invocation-id',
]);
/** Reply headers the API sets itself. */
const DROP_REPLY_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function sendJson(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendReply(res: http.ServerResponse, reply: CallReply): void {
  const headers: [string, string][] = [];
  for (const [name, value] of reply.headers) {
    if (!DROP_REPLY_HEADERS.has(name.toLowerCase())) headers.push([name, value]);
  }
  const noBody = [204, 304].includes(reply.status) || (reply.status >= 100 && reply.status < 200);
  if (!noBody) headers.push(['content-length', String(reply.body.length)]);
  try {
    res.writeHead(reply.status, headers.flat());
  } catch {
    // a header Node refuses to write: the reply without its headers is still the callee's answer
    res.writeHead(reply.status, noBody ? {} : { 'content-length': reply.body.length });
  }
  res.end(noBody ? undefined : reply.body);
}

function forwardedHeaders(req: http.IncomingMessage): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    if (!DROP_HEADERS.has(name)) pairs.push([name, req.rawHeaders[i + 1] as string]);
  }
  return pairs;
}

function segment(raw: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ApiError('SKIFF_E_INVALID_REQUEST', `the ${what} is not valid percent-encoding`);
  }
  if (value === '') throw new ApiError('SKIFF_E_INVALID_REQUEST', `the ${what} is missing`);
  return value;
}

function functionName(raw: string): string {
  const name = segment(raw, 'function name');
  if (name.length > MAX_NAME_CHARS) {
    throw new ApiError('SKIFF_E_INVALID_REQUEST', `a function name is at most ${MAX_NAME_CHARS} characters`);
  }
  return name;
}

function version(req: http.IncomingMessage): number | undefined {
  const raw = req.headers['if-match'];
  if (raw === undefined) return undefined;
  const value = Number(raw.replace(/^W\//, '').replaceAll('"', '').trim());
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ApiError('SKIFF_E_INVALID_REQUEST', 'If-Match must be a state version (a whole number)');
  }
  return value;
}

/** One request: validated, turned into a frame through the backend, answered. */
async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: ApiServerOptions,
): Promise<void> {
  const invocationId = req.headers['x-skiff-invocation-id'];
  if (typeof invocationId !== 'string' || invocationId === '') {
    throw new ApiError(
      'SKIFF_E_INVALID_REQUEST',
      'every request needs the header X-Skiff-Invocation-Id (the invocation it is made for: $SKIFF_INVOCATION_ID, or the header of the request being served)',
    );
  }
  if (invocationId.length > MAX_ID_CHARS || !options.live(invocationId)) {
    throw new ApiError(
      'SKIFF_E_INVOCATION_NOT_FOUND',
      `the invocation ${JSON.stringify(invocationId.slice(0, 64))} is not in flight in this instance (it ended, timed out or was cancelled)`,
    );
  }
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  const search = query === -1 ? '' : url.slice(query);
  const method = req.method ?? 'GET';
  if (method.length > 16)
    throw new ApiError('SKIFF_E_METHOD_NOT_ALLOWED', 'a method is at most 16 characters');
  const { backend, limits } = options;

  const call = /^\/call\/([^/]*)(\/.*)?$/.exec(pathname);
  if (call !== null) {
    const name = functionName(call[1] as string);
    const path = `${call[2] ?? '/'}${search}`;
    if (path.length > MAX_PATH_CHARS) {
      throw new ApiError('SKIFF_E_INVALID_REQUEST', `the path is longer than ${MAX_PATH_CHARS} characters`);
    }
    const body = await readBody(req, limits.maxBodyBytes);
    const meta: CallMeta = { invocationId, function: name, method, path, headers: forwardedHeaders(req) };
    return sendReply(res, await backend.call(meta, body));
  }

  const cast = /^\/cast\/([^/]*)$/.exec(pathname);
  if (cast !== null) {
    if (method !== 'POST')
      throw new ApiError('SKIFF_E_METHOD_NOT_ALLOWED', 'a cast is POST /cast/{function}');
    const name = functionName(cast[1] as string);
    const params = new URLSearchParams(search);
    const delay = params.get('delayMs');
    const delayMs = delay === null ? undefined : Number(delay);
    if (delayMs !== undefined && (!Number.isSafeInteger(delayMs) || delayMs < 0)) {
      throw new ApiError('SKIFF_E_INVALID_REQUEST', 'delayMs must be a whole number of milliseconds');
    }
    if (backend.cast === undefined) throw notServed('casts');
    const body = await readBody(req, limits.maxBodyBytes);
    const type = req.headers['content-type'];
    const meta: ApiCastMeta = {
      invocationId,
      function: name,
      ...(delayMs === undefined ? {} : { delayMs }),
      ...(type === undefined ? {} : { headers: [['content-type', type]] }),
    };
    return sendReply(res, await backend.cast(meta, body));
  }

  if (pathname === '/state' || pathname === '/state/' || pathname.startsWith('/state/')) {
    const rawKey = pathname.slice('/state/'.length);
    const meta = stateMeta(req, method, invocationId, rawKey, search);
    if (backend.state === undefined) throw notServed('state');
    const body = meta.op === 'set' ? await readBody(req, limits.maxBodyBytes) : Buffer.alloc(0);
    return sendReply(res, await backend.state(meta, body));
  }

  throw new ApiError(
    'SKIFF_E_NOT_FOUND',
    `no route ${method} ${pathname.slice(0, 64)}: the API serves /call/{function}/{path}, /cast/{function} and /state/{key}`,
  );
}

function stateMeta(
  req: http.IncomingMessage,
  method: string,
  invocationId: string,
  rawKey: string,
  search: string,
): ApiStateMeta {
  if (rawKey === '') {
    if (method !== 'GET')
      throw new ApiError('SKIFF_E_METHOD_NOT_ALLOWED', 'the state list is GET /state?prefix=');
    const params = new URLSearchParams(search);
    const prefix = params.get('prefix') ?? '';
    // the next page: `after` = the `next` of the page before (the STATE frame carries it as `key`)
    const after = params.get('after');
    return { invocationId, op: 'list', prefix, ...(after === null || after === '' ? {} : { key: after }) };
  }
  const key = segment(rawKey, 'state key');
  const ifVersion = version(req);
  const cas = ifVersion === undefined ? {} : { ifVersion };
  switch (method) {
    case 'GET':
      return { invocationId, op: 'get', key };
    case 'PUT': {
      const type = req.headers['content-type'];
      return { invocationId, op: 'set', key, ...cas, ...(type === undefined ? {} : { contentType: type }) };
    }
    case 'DELETE':
      return { invocationId, op: 'delete', key, ...cas };
    default:
      throw new ApiError('SKIFF_E_METHOD_NOT_ALLOWED', 'state keys take GET, PUT and DELETE');
  }
}

function notServed(what: string): ApiError {
  return new ApiError('SKIFF_E_INTERNAL', `this bridge does not serve ${what} through $SKIFF_API yet`, 501);
}

export interface ApiServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** Listens on `socketPath` (owner-only); resolves once requests can be made. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { limits } = options;
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      // how often the request and header timeouts are checked (Node's default is every 30 s)
      connectionsCheckingInterval: Math.min(1_000, limits.requestTimeoutMs),
    },
    (req, res) => {
      handle(req, res, options).catch((err: unknown) => {
        // a refusal before the body was read: the rest is read and dropped (bounded), so a client
        // still sending gets the answer instead of a broken pipe
        if (!req.complete) discardRest(req, limits);
        if (err instanceof ApiError) return sendJson(res, err.status, err.code, err.message);
        if (err instanceof CallError) return sendJson(res, statusOf(err.code), err.code, err.message);
        sendJson(res, 500, 'SKIFF_E_INTERNAL', `the API failed: ${(err as Error).message}`);
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  // a connection that sends nothing is closed after the idle timeout (Node times only requests begun);
  // once a request came, the request timeout and then the keep-alive timeout take over
  server.on('connection', (socket: net.Socket) => socket.setTimeout(limits.idleTimeoutMs));
  server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(0));
  server.headersTimeout = Math.min(limits.requestTimeoutMs, 10_000);
  server.keepAliveTimeout = limits.idleTimeoutMs;
  await rm(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
