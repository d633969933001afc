/**
 * The messages of `skiff.v1.Invoker` (proto/skiff/v1/invoker.proto) and how they map onto the
 * neutral Invocation and Result: validation of the request fields, which call metadata reaches the
 * function as headers, and the function's headers as response metadata.
 */
import type { Metadata } from '@grpc/grpc-js';
import { NAME_PATTERN } from '../model/spec.js';
import type { HeaderPairs, Invocation, Result } from '../model/invocation.js';
import { SkiffError } from '../shared/errors.js';
import { HOP_BY_HOP } from './http.js';

/** `skiff.v1.InvokeRequest` as proto-loader decodes it (camelCase keys, bytes as Buffer, defaults on). */
export interface InvokeRequest {
  function: string;
  payload: Buffer;
  metadata: Record<string, string>;
  method: string;
  path: string;
}

/** `skiff.v1.InvokeResponse` as the handler returns it. */
export interface InvokeResponse {
  status: number;
  payload: Buffer;
  metadata: Record<string, string>;
}

/** Call metadata that belongs to gRPC or HTTP/2 itself, never to the function. */
const NOT_FOR_FUNCTION = new Set([
  ...HOP_BY_HOP,
  'content-type',
  'content-length',
  'user-agent',
  'accept-encoding',
  'host',
]);
/** Request headers the function never gets from the request's own `metadata` field either. */
const NEVER_FROM_MESSAGE = new Set([...HOP_BY_HOP, 'content-length']);
/** Response headers that describe the HTTP framing, not the answer. */
const NOT_FROM_FUNCTION = new Set([...HOP_BY_HOP, 'content-length']);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header value: visible characters, spaces and tabs (no CR, LF or other control characters). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Printable ASCII without spaces and `#`: what an HTTP request target may hold. */
const TARGET = /^\/[\x21\x22\x24-\x7e]*$/;
const MAX_TARGET_CHARS = 8 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

function invalid(message: string): SkiffError {
  return new SkiffError('SKIFF_E_INVALID_REQUEST', message);
}

/** The function name, or SKIFF_E_INVALID_NAME saying what a name looks like. */
export function functionName(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') {
    throw new SkiffError(
      'SKIFF_E_INVALID_NAME',
      'InvokeRequest.function is required: the name of a deployed function (see `skiff fn list`)',
    );
  }
  if (!NAME_PATTERN.test(raw)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_NAME',
      `InvokeRequest.function ${JSON.stringify(raw.slice(0, 80))} is not a function name: use 1-63 lower-case letters, digits and dashes`,
    );
  }
  return raw;
}

function method(raw: unknown): string {
  if (raw === undefined || raw === '') return 'POST';
  if (typeof raw !== 'string' || raw.length > 32 || !TOKEN.test(raw)) {
    throw invalid('InvokeRequest.method must be an HTTP method such as GET or POST (or empty for POST)');
  }
  return raw.toUpperCase();
}

/** Splits `path` into the path below the function's name and the raw query. */
function target(raw: unknown): { path: string; query: string } {
  if (raw === undefined || raw === '') return { path: '/', query: '' };
  if (typeof raw !== 'string' || raw.length > MAX_TARGET_CHARS || !TARGET.test(raw)) {
    throw invalid(
      `InvokeRequest.path must start with "/" and hold at most ${MAX_TARGET_CHARS} printable ASCII characters without spaces or "#" (percent-encode others), e.g. "/items/7?full=1"`,
    );
  }
  const q = raw.indexOf('?');
  return q === -1 ? { path: raw, query: '' } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

/**
 * The headers the function sees: the call's text metadata (without gRPC's own keys such as
 * `grpc-timeout`, `content-type`, `user-agent`, `te`, and without binary `-bin` keys), then the
 * request's `metadata` field, whose keys replace the same keys from the call.
 */
function headers(call: Metadata, fromMessage: unknown): HeaderPairs {
  const own = new Map<string, string>();
  if (typeof fromMessage === 'object' && fromMessage !== null) {
    for (const [rawKey, value] of Object.entries(fromMessage as Record<string, unknown>)) {
      const key = rawKey.toLowerCase();
      if (!TOKEN.test(key)) {
        throw invalid(
          `InvokeRequest.metadata key ${JSON.stringify(rawKey.slice(0, 80))} is not a valid header name`,
        );
      }
      if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
        throw invalid(
          `InvokeRequest.metadata value of ${JSON.stringify(key)} must not contain line breaks or control characters`,
        );
      }
      if (!NEVER_FROM_MESSAGE.has(key)) own.set(key, value);
    }
  }
  const pairs: HeaderPairs = [];
  for (const [key, values] of Object.entries(call.toJSON())) {
    if (key.startsWith('grpc-') || key.endsWith('-bin') || key.startsWith(':')) continue;
    if (NOT_FOR_FUNCTION.has(key) || own.has(key)) continue;
    for (const value of values) if (typeof value === 'string') pairs.push([key, value]);
  }
  for (const [key, value] of own) pairs.push([key, value]);
  const size = pairs.reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (size > MAX_HEADER_BYTES) {
    throw invalid(`the request's metadata holds ${size} bytes; at most ${MAX_HEADER_BYTES} reach a function`);
  }
  return pairs;
}

/** A gRPC deadline (`Infinity` when the client set none) as Invocation.deadline: epoch ms, or 0. */
export function deadlineMs(deadline: Date | number): number {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Builds the Invocation of one call; throws SKIFF_E_INVALID_NAME or SKIFF_E_INVALID_REQUEST. */
export function toInvocation(
  id: string,
  request: Partial<InvokeRequest>,
  metadata: Metadata,
  deadline: Date | number,
): Invocation {
  const name = functionName(request.function);
  const { path, query } = target(request.path);
  return {
    id,
    function: name,
    trigger: 'grpc',
    method: method(request.method),
    path,
    query,
    headers: headers(metadata, request.metadata),
    body: Buffer.isBuffer(request.payload) ? request.payload : Buffer.alloc(0),
    deadline: deadlineMs(deadline),
    host: 'grpc',
  };
}

/** The function's Result as an InvokeResponse: repeated headers are joined with ", ". */
export function toResponse(result: Result): InvokeResponse {
  const joined = new Map<string, string>();
  for (const [rawKey, value] of result.headers) {
    const key = rawKey.toLowerCase();
    if (NOT_FROM_FUNCTION.has(key)) continue;
    const prev = joined.get(key);
    joined.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: result.status, payload: result.body, metadata: Object.fromEntries(joined) };
}
