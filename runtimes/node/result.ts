/** Turns whatever a Node handler returned into a protocol result (status, header pairs, body bytes). */
import type { FunctionStateApi } from './state.js';
import type { HeaderPairs } from '../../src/executor/protocol/messages.js';
import type { CallFunction } from './call.js';
import type { CastFunction } from './cast.js';
import { lightResult } from './light-response.js';

export interface HandlerContext {
  functionName: string;
  version: number;
  invocationId: string;
  deadline: number;
  trigger: string;
  /** The W3C trace id of the invocation (32 hex digits); '' from a platform that sends none. */
  traceId: string;
  /**
   * The invocation's own W3C `traceparent` (its trace and span): send it on the requests the function
   * makes, so that what they do joins its trace; '' from a platform that sends none.
   */
  traceparent: string;
  /** The W3C `tracestate` that came with the trace ('' when none): send it along with `traceparent`. */
  tracestate: string;
  /** Trigger `call` or `cast`: the name of the function that called or cast to this one. */
  caller?: string;
  /** Calls another function through the platform; resolves with its `Response` (see call.ts). */
  call: CallFunction;
  /** Queues an invocation of another function; resolves with its id once it is on disk (see cast.ts). */
  cast: CastFunction;
  /** The function's own state: get, set (compare-and-set with `ifVersion`), delete, list (state.ts). */
  state: FunctionStateApi;
  /** The function's env from skiff.json and its secrets (a secret wins over an env entry of its name). */
  env: Record<string, string>;
  /** The function's secrets, name → value (a frozen object; also in `env` and `process.env`). */
  secrets: Readonly<Record<string, string>>;
  signal: AbortSignal;
  log: (...args: unknown[]) => void;
}

export type UserHandler = (request: Request, ctx: HandlerContext) => unknown;

export interface BridgeResult {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
}

function badResponse(message: string): Error {
  return Object.assign(new Error(message), { skiffCode: 'BAD_RESPONSE' });
}

/** The symbol under which Node's fetch keeps a Response's state (undefined if it has none). */
let stateKey: symbol | null | undefined;

/**
 * The body of a Response made from a string or bytes, read from the Response's own state instead of
 * through its ReadableStream (the stream is never touched, so this reads what `arrayBuffer()` would);
 * undefined for any other body (a stream, a Blob, form data) or one already read or locked.
 */
function directBody(response: Response): Buffer | undefined {
  if (stateKey === undefined) {
    stateKey = Object.getOwnPropertySymbols(new Response()).find((s) => s.description === 'state') ?? null;
  }
  if (stateKey === null || response.bodyUsed) return undefined;
  const state = (response as unknown as Record<symbol, unknown>)[stateKey] as
    { body?: { source?: unknown; stream?: { locked?: unknown } } | null } | undefined;
  if (typeof state !== 'object' || state === null || !('body' in state)) return undefined;
  const body = state.body;
  if (body === null || body === undefined) return Buffer.alloc(0); // new Response() or (null)
  if (body.stream?.locked !== false) return undefined;
  const source = body.source;
  if (typeof source === 'string') return Buffer.from(source);
  if (source instanceof Uint8Array) return Buffer.from(source);
  return undefined;
}

export async function toResult(value: unknown): Promise<BridgeResult> {
  const light = lightResult(value);
  if (light !== undefined) return light;
  if (value instanceof Response) {
    const headers: HeaderPairs = [];
    value.headers.forEach((v, k) => {
      if (k !== 'set-cookie') headers.push([k, v]);
    });
    for (const cookie of value.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
    return {
      status: value.status,
      headers,
      body: directBody(value) ?? Buffer.from(await value.arrayBuffer()),
    };
  }
  if (value === undefined || value === null) return { status: 204, headers: [], body: Buffer.alloc(0) };
  if (typeof value === 'string') {
    return {
      status: 200,
      headers: [['content-type', 'text/plain; charset=utf-8']],
      body: Buffer.from(value),
    };
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const body =
      value instanceof ArrayBuffer
        ? Buffer.from(value)
        : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { status: 200, headers: [['content-type', 'application/octet-stream']], body };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw badResponse(
      `the handler returned a value that is not JSON-serialisable: ${(err as Error).message}`,
    );
  }
  if (json === undefined) throw badResponse(`the handler returned a ${typeof value}, which has no JSON form`);
  return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(json) };
}
