/**
 * A light `Response` for native Node handlers (the approach of `@hono/node-server`). Node's own
 * Response builds a ReadableStream for every body at construction, a third of an instance's CPU per
 * call for a hello world. The bridge's `Response` global is this class instead: made from a string
 * (or no body) with a plain `{ status, headers }` it only records them, and the bridge sends them as
 * Node's Response would have (`lightResult`). Any other use builds the real Response once and
 * forwards to it: every member of `Response.prototype`, its statics, `instanceof` (also for real
 * Responses, e.g. from `fetch`), so a handler cannot tell it from Node's except by speed. Anything
 * the real constructor would refuse (a bad status or header) is handed to it, so it throws as before.
 */
import type { HeaderPairs } from '../../src/executor/protocol/messages.js';
import { forwardMembers } from './forward-members.js';
import { fetchClasses, loadedFetchClasses, onFetchLoad, pendingPrototype } from './fetch-globals.js';

type RealResponseClass = typeof Response;

interface Recorded {
  body: string | null;
  status: number;
  /** The headers as given (a plain object of strings), or undefined. */
  headers: Record<string, string> | undefined;
}

const recorded = Symbol('recorded');
const real = Symbol('response');

/** A header name (a token) and a value Node's Headers takes as it is (no CR, LF or NUL). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/; // and beyond Latin-1 (not a ByteString)
/** HTTP whitespace at either end of a value, which Headers strips. */
const EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** The recorded form of `new Response(body, init)`, or undefined when only the real one will do. */
function record(body: unknown, init: unknown): Recorded | undefined {
  if (body !== undefined && body !== null && typeof body !== 'string') return undefined;
  let status = 200;
  let headers: Record<string, string> | undefined;
  if (init !== undefined) {
    if (typeof init !== 'object' || init === null || Object.getPrototypeOf(init) !== Object.prototype) {
      return undefined;
    }
    for (const key of Object.keys(init)) if (key !== 'status' && key !== 'headers') return undefined;
    const given = init as { status?: unknown; headers?: unknown };
    if (given.status !== undefined) {
      if (typeof given.status !== 'number' || !Number.isInteger(given.status)) return undefined;
      status = given.status;
    }
    if (given.headers !== undefined) {
      const h = given.headers;
      if (typeof h !== 'object' || h === null || Object.getPrototypeOf(h) !== Object.prototype)
        return undefined;
      for (const [name, value] of Object.entries(h)) {
        if (typeof value !== 'string' || !TOKEN.test(name) || BAD_VALUE.test(value)) return undefined;
      }
      headers = h as Record<string, string>;
    }
  }
  // 200-599 only; no body with a null-body status (the real constructor throws for both)
  if (status < 200 || status > 599) return undefined;
  const text = typeof body === 'string' ? body : null;
  if (text !== null && (status === 204 || status === 205 || status === 304)) return undefined;
  return { body: text, status, headers };
}

function realOf(light: LightResponse): Response {
  const existing = light[real];
  if (existing !== undefined) return existing;
  const r = light[recorded] as Recorded;
  const init = r.headers === undefined ? { status: r.status } : { status: r.status, headers: r.headers };
  const made = new (fetchClasses().Response)(r.body, init);
  light[real] = made;
  light[recorded] = undefined;
  return made;
}

class LightResponse {
  [recorded]: Recorded | undefined;
  [real]: Response | undefined;

  constructor(body?: unknown, init?: unknown) {
    const r = record(body, init);
    this[recorded] = r;
    this[real] = undefined;
    if (r === undefined) {
      this[real] = new (fetchClasses().Response)(
        body as ConstructorParameters<RealResponseClass>[0],
        init as ResponseInit,
      );
    }
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // `instanceof Response` holds for Node's own Responses too; a subclass checks its own prototype.
    // A Response of Node's can only exist once its fetch implementation was loaded through
    // fetchClasses (the light Response's real one, or the fetch global): until then only light
    // ones can, and checking loads nothing.
    if (this !== LightResponse) return Function.prototype[Symbol.hasInstance].call(this, value);
    if (typeof value !== 'object' || value === null) return false;
    const classes = loadedFetchClasses();
    return classes === undefined ? Object.hasOwn(value, recorded) : value instanceof classes.Response;
  }
}

/**
 * What the bridge sends for a Response: from its record when it is still a light one (headers as
 * Node's Headers gives them: lower-case names in order, values trimmed, duplicates joined, a string
 * body typed `text/plain;charset=UTF-8` unless a content type was given), else undefined.
 */
export function lightResult(
  value: unknown,
): { status: number; headers: HeaderPairs; body: Buffer } | undefined {
  if (!installed || typeof value !== 'object' || value === null || !(recorded in value)) return undefined;
  const r = (value as LightResponse)[recorded];
  if (r === undefined) return undefined;
  const joined = new Map<string, string>();
  const cookies: string[] = [];
  for (const [name, raw] of Object.entries(r.headers ?? {})) {
    const key = name.toLowerCase();
    const v = raw.replace(EDGES, '');
    if (key === 'set-cookie') cookies.push(v);
    else {
      const before = joined.get(key);
      joined.set(key, before === undefined ? v : `${before}, ${v}`);
    }
  }
  if (r.body !== null && !joined.has('content-type')) joined.set('content-type', 'text/plain;charset=UTF-8');
  const headers: HeaderPairs = [...joined].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const cookie of cookies) headers.push(['set-cookie', cookie]);
  return { status: r.status, headers, body: r.body === null ? Buffer.alloc(0) : Buffer.from(r.body) };
}

let installed = false;

// Until Node's fetch implementation loads, any member the light Response lacks (its own or static)
// loads it; then its prototype and statics chain to Node's and every member of Node's prototype is
// forwarded (fetch-globals.ts).
Object.setPrototypeOf(LightResponse.prototype, pendingPrototype(LightResponse.prototype));
Object.setPrototypeOf(LightResponse, pendingPrototype(LightResponse));
Object.defineProperty(LightResponse, 'name', { value: 'Response' });
onFetchLoad(({ Response: Real }) => {
  forwardMembers<LightResponse>(LightResponse.prototype, Real.prototype, realOf, false);
  Object.setPrototypeOf(LightResponse.prototype, Real.prototype);
  Object.setPrototypeOf(LightResponse, Real);
});

/** Makes `globalThis.Response` the light one (for the native flavor, before its module loads). */
export function installLightResponse(): void {
  if (installed) return;
  installed = true;
  Object.defineProperty(globalThis, 'Response', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: LightResponse,
  });
}
