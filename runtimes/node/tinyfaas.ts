/**
 * The tinyFaaS flavor of the Node bridge (docs/compat/tinyfaas-flavors.md): the package's `main`
 * exports an express-style `(req, res)` handler, and this file supplies the express subset it uses.
 * The invocation answers when the handler ends the response (`send`, `json`, `end`).
 */
import { TextDecoder } from 'node:util';
import type { HeaderPairs, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { tinyfaasHeaders } from '../../src/compat/tinyfaas/headers.js';
import type { BridgeResult } from './result.js';

/** The request a tinyFaaS Node function gets: `body` is always a string ('' when empty). */
export interface TinyRequest {
  body: string;
  headers: Record<string, string>;
  method: string;
  url: string;
  path: string;
  query: Record<string, string>;
}

/** The express response subset: `status` and `set` chain; `send`, `json` and `end` answer. */
export interface TinyResponse {
  status(code: number): TinyResponse;
  set(name: string, value: string): TinyResponse;
  header(name: string, value: string): TinyResponse;
  send(data?: unknown): TinyResponse;
  json(data: unknown): TinyResponse;
  end(data?: unknown): TinyResponse;
  statusCode: number;
  readonly headersSent: boolean;
}

/** A tinyFaaS Node handler. */
export type ExpressHandler = (req: TinyRequest, res: TinyResponse) => unknown;

/** `module.exports = fn`, `export default fn`, or a CommonJS object whose `default` is the function. */
export function resolveExpressHandler(mod: Record<string, unknown>): ExpressHandler | undefined {
  let candidate: unknown = mod['default'] ?? mod['handler'];
  if (typeof candidate === 'object' && candidate !== null) {
    candidate = (candidate as Record<string, unknown>)['default'];
  }
  return typeof candidate === 'function' ? (candidate as ExpressHandler) : undefined;
}

const TEXT = 'text/plain; charset=utf-8';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(data: Buffer): boolean {
  try {
    utf8.decode(data);
    return true;
  } catch {
    return false;
  }
}

function bodyOf(data: unknown): { type: string | undefined; bytes: Buffer } {
  if (data === undefined || data === null) return { type: undefined, bytes: Buffer.alloc(0) };
  if (typeof data === 'string') return { type: TEXT, bytes: Buffer.from(data, 'utf8') };
  if (data instanceof Uint8Array) {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return { type: isUtf8(bytes) ? TEXT : 'application/octet-stream', bytes };
  }
  if (typeof data === 'number' || typeof data === 'boolean' || typeof data === 'object') {
    return { type: 'application/json', bytes: Buffer.from(JSON.stringify(data) ?? '', 'utf8') };
  }
  return { type: TEXT, bytes: Buffer.from(String(data), 'utf8') };
}

function buildRequest(meta: InvokeMeta, body: Buffer): TinyRequest {
  const url = new URL(meta.url);
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    // own keys only (`constructor` is "in" every object), defined (an assignment to `__proto__` is lost)
    if (!Object.hasOwn(query, key)) {
      Object.defineProperty(query, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return {
    body: body.toString('utf8'),
    headers: tinyfaasHeaders(meta.headers, 'lower'),
    method: meta.method,
    url: url.pathname + url.search,
    path: url.pathname,
    query,
  };
}

/**
 * Runs one invocation: resolves with the response once the handler ends it, rejects when the handler
 * throws (or its promise rejects) before that, or when `signal` aborts (the platform's timeout).
 */
export function invokeExpress(
  handler: ExpressHandler,
  meta: InvokeMeta,
  body: Buffer,
  signal: AbortSignal,
): Promise<BridgeResult> {
  return new Promise<BridgeResult>((resolve, reject) => {
    const headers = new Map<string, [string, string]>();
    let done = false;
    const finish = (data: unknown, forceJson: boolean): void => {
      if (done) return;
      done = true;
      const { type, bytes } = forceJson
        ? { type: 'application/json', bytes: Buffer.from(JSON.stringify(data) ?? '', 'utf8') }
        : bodyOf(data);
      const pairs: HeaderPairs = [...headers.values()];
      if (type !== undefined && !headers.has('content-type')) pairs.unshift(['content-type', type]);
      resolve({ status: res.statusCode, headers: pairs, body: bytes });
    };
    const res: TinyResponse = {
      statusCode: 200,
      get headersSent() {
        return done;
      },
      status(code) {
        res.statusCode = Number(code); // as Node's http does with a numeric string
        return res;
      },
      set(name, value) {
        headers.set(name.toLowerCase(), [name.toLowerCase(), String(value)]);
        return res;
      },
      header(name, value) {
        return res.set(name, value);
      },
      send(data) {
        finish(data, false);
        return res;
      },
      json(data) {
        finish(data, true);
        return res;
      },
      end(data) {
        finish(data, false);
        return res;
      },
    };
    signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
    const fail = (err: unknown): void => {
      if (done) return;
      done = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    try {
      const value: unknown = handler(buildRequest(meta, body), res);
      if (value instanceof Promise) value.catch(fail);
    } catch (err) {
      fail(err);
    }
  });
}
