/**
 * How an execution's outcome is sent: JSON when an `Accept` entry starts with `application/json` or
 * `application/*`, else multipart/form-data with one part per field (upstream's default, the only
 * form that carries a binary body). Also the response headers' shape per `x-executor-response-format`.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { HeaderPairs } from '../../model/invocation.js';
import { oprError } from './errors.js';

export interface ExecutionOutcome {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  logs: string;
  errors: string;
  duration: number;
  startTime: number;
}

/** True when the client asked for JSON. */
export function wantsJson(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .some((entry) => entry.startsWith('application/json') || entry.startsWith('application/*'));
}

/** `a.b.c` ≥ `0.11.0`. */
function atLeast0110(format: string): boolean {
  const [major = 0, minor = 0] = format.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return major > 0 || minor >= 11;
}

/**
 * The function's response headers as upstream's executor returns them: names lower-cased, no
 * `x-open-runtimes-*`; a repeated header is an array with format ≥ 0.11.0, else its last value.
 */
export function responseHeaders(pairs: HeaderPairs, format: string): Record<string, string | string[]> {
  const arrays = atLeast0110(format);
  const out = new Map<string, string | string[]>();
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase();
    if (name.startsWith('x-open-runtimes-')) continue;
    const previous = out.get(name);
    if (previous === undefined || !arrays) out.set(name, value);
    else out.set(name, Array.isArray(previous) ? [...previous, value] : [previous, value]);
  }
  return Object.fromEntries(out);
}

const BINARY_JSON =
  'Execution resulted in binary response, but JSON response does not allow binaries. Use "Accept: multipart/form-data" header to support binaries.';

function utf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

function multipart(outcome: ExecutionOutcome): { boundary: string; bytes: Buffer } {
  const fields: [string, Buffer][] = [
    ['statusCode', Buffer.from(String(outcome.statusCode))],
    ['headers', Buffer.from(JSON.stringify(outcome.headers))],
    ['body', outcome.body],
    ['logs', Buffer.from(outcome.logs)],
    ['errors', Buffer.from(outcome.errors)],
    ['duration', Buffer.from(String(outcome.duration))],
    ['startTime', Buffer.from(String(outcome.startTime))],
  ];
  let boundary = '';
  do {
    boundary = `----OpenRuntimesBoundary${randomBytes(12).toString('hex')}`;
  } while (fields.some(([, value]) => value.includes(boundary)));
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`));
    parts.push(value, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, bytes: Buffer.concat(parts) };
}

/** Writes the execution's reply (200) in the form the client asked for. */
export function writeExecution(res: ServerResponse, outcome: ExecutionOutcome, json: boolean): void {
  if (json) {
    const body = utf8(outcome.body);
    if (body === undefined) throw oprError('execution_bad_json', BINARY_JSON);
    const bytes = Buffer.from(JSON.stringify({ ...outcome, body }));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
    res.end(bytes);
    return;
  }
  const { boundary, bytes } = multipart(outcome);
  res.writeHead(200, {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': String(bytes.length),
  });
  res.end(bytes);
}
