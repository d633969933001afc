/**
 * The Open Runtimes flavor of the Node bridge (docs/compat/openruntimes.md): the entrypoint exports
 * `(context) => response` (CommonJS or ESM, sync or async), reads `context.req`, builds its reply with
 * `context.res` and logs with `context.log` / `context.error`. Only the returned value is sent; a throw
 * or a missing return is a 500 with an empty body, its reason in the function's error log.
 */
import { timingSafeEqual } from 'node:crypto';
import type { HeaderPairs, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { describeThrown } from '../shared/thrown.js';
import type { BridgeResult } from './result.js';

/** An Open Runtimes v5 function. */
export type OpenRuntimesHandler = (context: OpenRuntimesContext) => unknown;

export interface OpenRuntimesResponse {
  body: Uint8Array;
  statusCode: number;
  headers: Record<string, unknown>;
}

export interface OpenRuntimesContext {
  req: OpenRuntimesRequest;
  res: OpenRuntimesRes;
  log: (...args: unknown[]) => void;
  error: (...args: unknown[]) => void;
}

export interface OpenRuntimesRequest {
  readonly body: unknown;
  readonly bodyRaw: string;
  readonly bodyText: string;
  readonly bodyJson: unknown;
  readonly bodyBinary: Buffer;
  headers: Record<string, string>;
  method: string;
  scheme: string;
  host: string;
  port: number;
  path: string;
  queryString: string;
  query: Record<string, string>;
  url: string;
}

type Headers = Record<string, unknown>;

export interface OpenRuntimesRes {
  text(body: unknown, statusCode?: number, headers?: Headers): OpenRuntimesResponse;
  send(body: unknown, statusCode?: number, headers?: Headers): OpenRuntimesResponse;
  binary(bytes: Uint8Array, statusCode?: number, headers?: Headers): OpenRuntimesResponse;
  json(obj: unknown, statusCode?: number, headers?: Headers): OpenRuntimesResponse;
  empty(): OpenRuntimesResponse;
  redirect(url: string, statusCode?: number, headers?: Headers): OpenRuntimesResponse;
}

/** Where the flavor's logs go: `log` (the logs stream), `error` (the errors stream), `native` (console). */
export type OpenRuntimesLog = (kind: 'log' | 'error' | 'native', text: string) => void;

export const NATIVE_LOGS_NOTICE =
  'Native logs detected. Use context.log() or context.error() for better experience.';
export const MISSING_RETURN =
  'Return statement missing. return context.res.empty() if no response is expected.';
export const NO_EXPORT = "Function signature invalid. Did you forget to export a 'main' function?";
const MAX_LOG_CHARS = 8000;
const PREFIX = 'x-open-runtimes-';

/** `module.exports = fn`, `export default fn`, or a CommonJS object whose `default` is the function. */
export function resolveOpenRuntimesHandler(mod: Record<string, unknown>): OpenRuntimesHandler | undefined {
  let candidate: unknown = mod['default'];
  if (typeof candidate === 'object' && candidate !== null) {
    candidate = (candidate as Record<string, unknown>)['default'];
  }
  return typeof candidate === 'function' ? (candidate as OpenRuntimesHandler) : undefined;
}

function piece(value: unknown): string {
  if (value instanceof Error) return value.stack ?? String(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** One log write: arguments joined with spaces (objects as JSON), cut at 8000 characters. */
export function logLine(args: readonly unknown[]): string {
  let text: string;
  try {
    text = args.map(piece).join(' ');
  } catch (err) {
    text = describeThrown(err).message;
  }
  return text.length > MAX_LOG_CHARS
    ? `${text.slice(0, MAX_LOG_CHARS)}... Log truncated due to size limit (${MAX_LOG_CHARS} characters)`
    : text;
}

/** Splits `host[:port]` (an IPv6 literal keeps its brackets). */
function hostAndPort(hostHeader: string, defaultPort: number): { host: string; port: number } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostHeader);
  const host = match?.[1] ?? hostHeader;
  const port = match?.[2];
  return { host, port: port === undefined || port === '' ? defaultPort : Number(port) };
}

/** The query as Open Runtimes reads it: split on `&`, then at the first `=`; no decoding; last wins. */
export function parseQuery(queryString: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const param of queryString.split('&')) {
    const at = param.indexOf('=');
    const key = at === -1 ? param : param.slice(0, at);
    if (key === '') continue;
    const value = at === -1 ? '' : param.slice(at + 1);
    Object.defineProperty(query, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return query;
}

export function buildRequest(meta: InvokeMeta, body: Buffer): OpenRuntimesRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of meta.headers) {
    const key = name.toLowerCase();
    if (key.startsWith(PREFIX)) continue;
    const value2 = Object.hasOwn(headers, key) ? `${headers[key]}, ${value}` : value;
    Object.defineProperty(headers, key, {
      value: value2,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  // meta.url is http://<host><path>[?<query>], the path and query as the caller sent them
  const origin = /^[a-z]+:\/\/([^/?]*)/i.exec(meta.url);
  const rest = meta.url.slice(origin?.[0].length ?? 0);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const queryString = q === -1 ? '' : rest.slice(q + 1);
  const scheme = headers['x-forwarded-proto'] ?? 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  const { host, port } = hostAndPort(headers['host'] ?? origin?.[1] ?? 'localhost', defaultPort);
  const url = `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}${path}${queryString === '' ? '' : `?${queryString}`}`;
  const contentType = (headers['content-type'] ?? 'text/plain').toLowerCase();
  return {
    get body(): unknown {
      if (contentType.startsWith('application/json')) return body.length > 0 ? this.bodyJson : {};
      return this.bodyText;
    },
    get bodyRaw() {
      return this.bodyText;
    },
    get bodyText() {
      return body.toString('utf8');
    },
    get bodyJson(): unknown {
      return JSON.parse(this.bodyText);
    },
    get bodyBinary() {
      return body;
    },
    headers,
    method: meta.method,
    scheme,
    host,
    port,
    path,
    queryString,
    query: parseQuery(queryString),
    url,
  };
}

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return Buffer.from(String(value ?? ''), 'utf8');
}

export const res: OpenRuntimesRes = {
  binary: (bytes, statusCode = 200, headers = {}) => ({ body: bytesOf(bytes), statusCode, headers }),
  text: (body, statusCode = 200, headers = {}) => res.binary(bytesOf(body), statusCode, headers),
  send: (body, statusCode = 200, headers = {}) => res.text(String(body), statusCode, headers),
  json: (obj, statusCode = 200, headers = {}) => {
    headers['content-type'] = 'application/json';
    return res.text(JSON.stringify(obj), statusCode, headers);
  },
  empty: () => res.text('', 204, {}),
  redirect: (url, statusCode = 301, headers = {}) => {
    headers['location'] = url;
    return res.text('', statusCode, headers);
  },
};

/** The reply Open Runtimes sends for a returned `{body, statusCode, headers}`. */
export function toOpenRuntimesResult(output: Partial<OpenRuntimesResponse>): BridgeResult {
  const pairs: HeaderPairs = [];
  let contentType = 'text/plain';
  for (const [name, raw] of Object.entries(output.headers ?? {})) {
    const key = name.toLowerCase();
    if (key.startsWith(PREFIX)) continue;
    const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
    if (key === 'content-type') contentType = values[0] ?? contentType;
    else for (const value of values) pairs.push([key, value]);
  }
  contentType = contentType.toLowerCase();
  if (!contentType.startsWith('multipart/') && !contentType.includes('charset=')) {
    contentType += '; charset=utf-8';
  }
  pairs.unshift(['content-type', contentType]);
  const body = bytesOf(output.body);
  return {
    status: Number(output.statusCode ?? 200),
    headers: pairs,
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
}

const failed = (): BridgeResult => toOpenRuntimesResult({ statusCode: 500 });

const UNAUTHORIZED = 'Unauthorized. Provide correct "x-open-runtimes-secret" header.';

/**
 * Upstream's runtime answers its executor only: with OPEN_RUNTIMES_SECRET set (the executor API sets
 * it), a request without that `x-open-runtimes-secret` (one through Skiff's gateway) is refused.
 */
export function carriesSecret(headers: HeaderPairs, secret: string): boolean {
  if (secret === '') return true;
  const expected = Buffer.from(secret);
  return headers.some(([name, value]) => {
    if (name.toLowerCase() !== `${PREFIX}secret`) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * Runs one invocation. A throw (or a rejection) and a missing return answer 500 with an empty body and
 * write the reason to the errors stream; nothing here rejects.
 */
export async function invokeOpenRuntimes(
  handler: OpenRuntimesHandler,
  meta: InvokeMeta,
  body: Buffer,
  log: OpenRuntimesLog,
): Promise<BridgeResult> {
  if (!carriesSecret(meta.headers, process.env['OPEN_RUNTIMES_SECRET'] ?? '')) {
    return toOpenRuntimesResult(res.text(UNAUTHORIZED, 500, {}));
  }
  const context: OpenRuntimesContext = {
    req: buildRequest(meta, body),
    res,
    log: (...args) => log('log', logLine(args)),
    error: (...args) => log('error', logLine(args)),
  };
  let output: unknown;
  try {
    output = await handler(context);
  } catch (err) {
    const { message, stack } = describeThrown(err);
    context.error(stack ?? message);
    return failed();
  }
  if (output === null || output === undefined) {
    context.error(MISSING_RETURN);
    return failed();
  }
  const status = Number((output as Partial<OpenRuntimesResponse>).statusCode ?? 200);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    // as in the Python bridge: upstream's empty 500, the reason in the errors stream
    context.error(`the status ${String(status)} is not a final HTTP status (200-599)`);
    return failed();
  }
  try {
    return toOpenRuntimesResult(output as Partial<OpenRuntimesResponse>);
  } catch (err) {
    context.error(describeThrown(err).message);
    return failed();
  }
}

/** Native console output of invocations: the notice once per invocation, then each line. */
export class NativeLogs {
  private readonly noticed = new Set<number>();

  /** The lines to write for one native console call of invocation `id`. */
  lines(id: number, args: readonly unknown[]): string[] {
    const line = logLine(args);
    if (id === 0 || this.noticed.has(id)) return [line];
    this.noticed.add(id);
    return [NATIVE_LOGS_NOTICE, line];
  }

  /** Forgets an invocation once it ended. */
  end(id: number): void {
    this.noticed.delete(id);
  }
}
