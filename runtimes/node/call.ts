/**
 * `ctx.call(name, body?, { method, path, headers })` of the Node bridge: a request to another function
 * through the platform (no network), answered with a Web `Response`. A refusal of the platform (no such
 * function, depth limit, timeout ...) rejects with a `CallError` whose `code` is a SKIFF_E_* code; a
 * callee's own error status is a `Response` like any other.
 */
import type { HeaderPairs } from '../../src/executor/protocol/messages.js';
import type { CallClient } from '../shared/calls.js';

export interface CallOptions {
  /** Default: POST with a body, GET without. */
  method?: string;
  /** Path (and query) the callee sees, starting with `/`; default `/`. */
  path?: string;
  headers?: ConstructorParameters<typeof Headers>[0];
}

export type CallBody =
  ConstructorParameters<typeof Response>[0] | Record<string, unknown> | unknown[] | null | undefined;

export type CallFunction = (name: string, body?: CallBody, options?: CallOptions) => Promise<Response>;

/** Statuses a Response may not carry a body with. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function isPlainJson(body: unknown): body is Record<string, unknown> | unknown[] {
  if (Array.isArray(body)) return true;
  if (typeof body !== 'object' || body === null) return false;
  const proto = Object.getPrototypeOf(body) as unknown;
  return proto === Object.prototype || proto === null;
}

export async function toBytes(body: CallBody, headers: Headers): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (isPlainJson(body)) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return Buffer.from(JSON.stringify(body), 'utf8');
  }
  const response = new Response(body);
  const type = response.headers.get('content-type');
  if (type !== null && !headers.has('content-type')) headers.set('content-type', type);
  return Buffer.from(await response.arrayBuffer());
}

/** The `ctx.call` of one invocation (`invocationId` is the caller's, as INVOKE gave it). */
export function callFor(client: CallClient, invocationId: string): CallFunction {
  return (name, body, options) => noUnhandled(callOnce(client, invocationId, name, body, options));
}

/**
 * A call or cast the handler never awaits may fail (it is cancelled when its invocation ends): that
 * must not end the instance as an unhandled rejection. A handler that awaits still sees the error.
 */
export function noUnhandled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function callOnce(
  client: CallClient,
  invocationId: string,
  ...[name, body, options = {}]: Parameters<CallFunction>
): Promise<Response> {
  const headers = new Headers(options.headers);
  const bytes = await toBytes(body, headers);
  const pairs: HeaderPairs = [];
  headers.forEach((value, key) => pairs.push([key, value]));
  const method = options.method ?? (body === undefined || body === null ? 'GET' : 'POST');
  const reply = await client.call(
    { invocationId, function: name, method, path: options.path ?? '/', headers: pairs },
    bytes,
  );
  const out = new Headers();
  for (const [key, value] of reply.headers) {
    try {
      out.append(key, value);
    } catch {
      // a header the Fetch API refuses is left out
    }
  }
  const hasBody = !NULL_BODY.has(reply.status);
  return new Response(hasBody ? reply.body : null, { status: reply.status, headers: out });
}
