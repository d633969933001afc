/**
 * The Scaleway flavor's request and response rules in the Node bridge (docs/compat/scaleway.md): the
 * API-Gateway-style event and the context a handler gets, and how its result becomes a response.
 * Pure functions of the INVOKE and the result; runtimes/python/skiff_scaleway.py holds the same rules.
 */
import { TextDecoder } from 'node:util';
import type { HeaderPairs, InvokeMeta } from '../../src/executor/protocol/messages.js';
import type { BridgeResult } from './result.js';

export const TEXT = 'text/plain; charset=utf-8';
const OCTETS = 'application/octet-stream';
/** Upstream's spelling. */
export const EXECUTION_FAILED = 'An error occured during handler execution: ';
export const LOAD_FAILED =
  'Function Handler does not exist, check that you provided the right HANDLER parameter (path to your module with exported function to use)';
export const NOT_A_FUNCTION = 'Provided Handler does not exist, or does not export methods properly.';
/** The fields of a result that make it a response record. */
const RECORD_KEYS = ['statusCode', 'body', 'headers', 'isBase64Encoded'];
/** Standard base64 with its padding (the empty string included). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ScalewayContext {
  memoryLimitInMb: number;
  functionName: string;
  functionVersion: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** An own, enumerable property, whatever its name (`__proto__` included). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `content-type` → `Content-Type`: the first letter and each one after `-` upper case, the rest lower. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Header pairs → name → value with canonical names; a repeated header joined with `,`. Each name can
 * also be read in lower case (`headers['content-type']`, as Scaleway's local Node emulator gives them):
 * a non-enumerable alias, so JSON, `Object.keys` and spreads see only the canonical names.
 */
export function eventHeaders(pairs: HeaderPairs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const key = canonicalName(name);
    put(out, key, Object.hasOwn(out, key) ? `${out[key] ?? ''},${value}` : value);
  }
  for (const key of Object.keys(out)) {
    const lower = key.toLowerCase();
    if (lower === key || Object.hasOwn(out, lower)) continue;
    Object.defineProperty(out, lower, {
      get: () => out[key],
      set: (value: string) => put(out, key, value),
      enumerable: false,
      configurable: true,
    });
  }
  return out;
}

/** `body` and `isBase64Encoded` (undefined when false) for the request body bytes. */
export function eventBody(bytes: Buffer): { body: string; isBase64Encoded?: true } {
  const text = utf8Text(bytes);
  // not UTF-8: the exact bytes in base64, so binary uploads survive
  if (text === undefined) return { body: bytes.toString('base64'), isBase64Encoded: true };
  // upstream's guess: the text is valid base64 (empty included) whose bytes are UTF-8 text
  const guess = BASE64.test(text) && utf8Text(Buffer.from(text, 'base64')) !== undefined;
  return guess ? { body: text, isBase64Encoded: true } : { body: text };
}

/** The event of one invocation: path and query from the URL (the path below the function). */
export function scalewayEvent(meta: InvokeMeta, bytes: Buffer): Record<string, unknown> {
  // meta.url is http://<host><path>[?<query>], the path and query as the caller sent them
  const rest = meta.url.replace(/^[a-z]+:\/\/[^/?]*/i, '');
  const q = rest.indexOf('?');
  const path = (q === -1 ? rest : rest.slice(0, q)) || '/';
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(q === -1 ? '' : rest.slice(q + 1))) put(query, key, value);
  const { body, isBase64Encoded } = eventBody(bytes);
  return {
    resource: '',
    path,
    httpMethod: meta.method,
    headers: eventHeaders(meta.headers),
    multiValueHeaders: null,
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: {},
    requestContext: {
      accountId: '',
      resourceId: '',
      stage: '',
      requestId: '',
      resourcePath: '',
      authorizer: null,
      httpMethod: meta.method,
      apiId: '',
    },
    body,
    ...(isBase64Encoded ? { isBase64Encoded } : {}),
  };
}

/** A plain-text answer of the flavor's own (a failure), ending in a newline as upstream's do. */
export function plain(status: number, text: string): BridgeResult {
  return { status, headers: [['content-type', TEXT]], body: Buffer.from(`${text}\n`, 'utf8') };
}

/** The 500 for a failed run: upstream's prefix and the error's message. */
export function executionFailed(message: string): BridgeResult {
  return plain(500, EXECUTION_FAILED + message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    RECORD_KEYS.some((key) => Object.hasOwn(value, key))
  );
}

/** The bytes of a record's `body`: strings as they are, other values as JSON text, missing empty. */
function recordBody(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body) ?? '', 'utf8');
}

/** A record's headers: each value a string or an array of strings (one header line each). */
function recordHeaders(headers: unknown): HeaderPairs {
  const pairs: HeaderPairs = [];
  if (typeof headers !== 'object' || headers === null) return pairs;
  for (const [name, raw] of Object.entries(headers as Record<string, unknown>)) {
    const values: unknown[] = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      if (value === undefined || value === null || typeof value === 'object') continue;
      pairs.push([name.toLowerCase(), String(value as string | number | boolean)]);
    }
  }
  return pairs;
}

/** A response record (`statusCode`, `body`, `headers`, `isBase64Encoded`) → the reply. */
function fromRecord(record: Record<string, unknown>): BridgeResult {
  const status = record['statusCode'] ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    return executionFailed(`statusCode ${JSON.stringify(status) ?? String(status)} is not an HTTP status`);
  }
  let body: Buffer;
  let type = TEXT;
  if (record['isBase64Encoded'] === true) {
    const encoded = record['body'];
    if (typeof encoded !== 'string' || !BASE64.test(encoded)) {
      return executionFailed('body is not a valid base64 string although isBase64Encoded is true');
    }
    body = Buffer.from(encoded, 'base64');
    if (utf8Text(body) === undefined) type = OCTETS;
  } else {
    body = recordBody(record['body']);
  }
  const headers = recordHeaders(record['headers']);
  if (!headers.some(([name]) => name === 'content-type')) headers.unshift(['content-type', type]);
  return { status, headers, body };
}

/**
 * The reply for a result's text, as Scaleway's core reads what a runtime sent: JSON of an object with
 * any of the record's fields is a response record; anything else is a 200 with the text.
 */
export function fromText(text: string): BridgeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed)) return fromRecord(parsed);
  return { status: 200, headers: [['content-type', TEXT]], body: Buffer.from(text, 'utf8') };
}

/**
 * The reply for what a Node handler gave: a string as it is, a number as its decimal string, bytes as
 * they are, anything else as JSON text; then the record rule of `fromText`.
 */
export function fromNodeResult(value: unknown): BridgeResult {
  if (value === undefined) return fromText('');
  if (typeof value === 'string') return fromText(value);
  if (typeof value === 'number') return fromText(String(value));
  if (value instanceof Uint8Array) {
    const body = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { status: 200, headers: [['content-type', utf8Text(body) === undefined ? OCTETS : TEXT]], body };
  }
  if (isRecord(value)) {
    // JSON round trip, as upstream sends it: toJSON, dates and undefined fields behave the same
    return fromText(JSON.stringify(value));
  }
  const json = JSON.stringify(value) as string | undefined;
  return fromText(json ?? String(value));
}
