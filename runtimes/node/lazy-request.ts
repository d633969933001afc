/**
 * The `Request` a native Node handler gets, built lazily. Most handlers read `method`, `url`,
 * `headers` and the body as text, JSON or bytes: those come straight from the INVOKE frame. A real
 * undici `Request` (with its body stream, its `FinalizationRegistry` entry for the signal, and a
 * clone of the headers) is built only when the handler touches something only it has: `body`,
 * `clone()`, `formData()`, `blob()`, `cache`, `mode` and the other Fetch members. The object is an
 * `instanceof Request` (its prototype chain runs through `Request.prototype` once Node's fetch
 * implementation is loaded, which the `Request` global and any such member do: fetch-globals.ts),
 * and every member of `Request.prototype` answers, so a handler cannot tell it from a real one except
 * by speed.
 *
 * `signal` is the invocation's own signal (aborted when the platform cancels the call); reading it
 * is what creates its AbortController (invocation.ts).
 */
import type { InvokeMeta } from '../../src/executor/protocol/messages.js';
import { forwardMembers } from './forward-members.js';
import { fetchClasses, onFetchLoad, pendingPrototype } from './fetch-globals.js';

/** What the lazy request needs of its invocation: the signal, made on first use. */
export interface SignalSource {
  readonly signal: AbortSignal;
}

const utf8 = new TextDecoder();
const real = Symbol('request');
const own = Symbol('own');

function unusable(): Promise<never> {
  return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
}

class InvocationRequest {
  [own]: {
    meta: InvokeMeta;
    body: Buffer;
    source: SignalSource;
    headers?: Headers;
    url?: string;
    used: boolean;
  };
  [real]: Request | undefined;

  constructor(meta: InvokeMeta, body: Buffer, source: SignalSource) {
    this[own] = { meta, body, source, used: false };
    this[real] = undefined;
  }

  get method(): string {
    const r = this[real];
    return r === undefined ? this[own].meta.method : r.method;
  }

  /** The URL as a Request serialises it (host lower-cased, dot segments resolved, escapes added). */
  get url(): string {
    const o = this[own];
    return (o.url ??= new URL(o.meta.url).href);
  }

  get headers(): Headers {
    const o = this[own];
    if (o.headers !== undefined) return o.headers;
    const headers = new Headers();
    for (const [key, value] of o.meta.headers) {
      try {
        headers.append(key, value);
      } catch {
        // A header the Fetch API refuses is left out rather than failing the call.
      }
    }
    return (o.headers = headers);
  }

  get signal(): AbortSignal {
    return this[own].source.signal;
  }

  get bodyUsed(): boolean {
    const r = this[real];
    return r === undefined ? this[own].used : r.bodyUsed;
  }

  text(): Promise<string> {
    const bytes = this.fastBody();
    if (bytes === undefined) return realRequest(this).text();
    return bytes === null ? unusable() : Promise.resolve(utf8.decode(bytes));
  }

  json(): Promise<unknown> {
    const bytes = this.fastBody();
    if (bytes === undefined) return realRequest(this).json();
    if (bytes === null) return unusable();
    try {
      return Promise.resolve(JSON.parse(utf8.decode(bytes)) as unknown);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.fastBody();
    if (bytes === undefined) return realRequest(this).arrayBuffer();
    if (bytes === null) return unusable();
    const copy = new ArrayBuffer(bytes.length);
    new Uint8Array(copy).set(bytes);
    return Promise.resolve(copy);
  }

  bytes(): Promise<Uint8Array> {
    return this.arrayBuffer().then((b) => new Uint8Array(b));
  }

  /**
   * The body's bytes when they can be read without the real request (and marks them read); null
   * when they were read already; undefined when the real request exists and must answer.
   */
  private fastBody(): Buffer | null | undefined {
    if (this[real] !== undefined) return undefined;
    const o = this[own];
    if (o.meta.method === 'GET' || o.meta.method === 'HEAD') return EMPTY; // a null body: never "used"
    if (o.used) return null;
    o.used = true;
    return o.body;
  }
}

const EMPTY = Buffer.alloc(0);

/** The real undici Request behind `lazy`, built on first need (with the body unless it was read). */
function realRequest(lazy: InvocationRequest): Request {
  const existing = lazy[real];
  if (existing !== undefined) return existing;
  const o = lazy[own];
  const { method, url } = o.meta;
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const request = new (fetchClasses().Request)(url, {
    method,
    headers: lazy.headers,
    signal: o.source.signal,
    ...(hasBody ? { body: o.body } : {}),
  });
  // a body the handler already read stays read: the real request's is consumed (bodyUsed, unusable)
  if (hasBody && o.used) void request.arrayBuffer().catch(() => undefined);
  lazy[real] = request;
  return request;
}

// Until Node's fetch implementation loads, any member the lazy request lacks loads it; then its
// prototype chains to `Request.prototype` and every member it does not answer itself is forwarded
// to the real request (fetch-globals.ts). The hello path touches none.
Object.setPrototypeOf(InvocationRequest.prototype, pendingPrototype(InvocationRequest.prototype));
onFetchLoad(({ Request: Real }) => {
  forwardMembers<InvocationRequest>(InvocationRequest.prototype, Real.prototype, realRequest, true);
  Object.setPrototypeOf(InvocationRequest.prototype, Real.prototype);
});

/** Methods the lazy request passes as they are (others go through Request's checks and casing). */
const PLAIN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
]);

/**
 * The request a native handler gets for one INVOKE frame. Another method (e.g. a lower-case or a
 * forbidden one) builds the real request at once, so it is normalised or refused as before.
 */
export function lazyRequest(meta: InvokeMeta, body: Buffer, source: SignalSource): Request {
  const request = new InvocationRequest(meta, body, source);
  if (!PLAIN_METHODS.has(meta.method)) realRequest(request);
  return request as unknown as Request;
}
