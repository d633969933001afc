/**
 * The executor API's parameters, as upstream's clients send them: a JSON object, multipart/form-data
 * (every part a string; `headers` and `variables` as JSON text; `body` kept as bytes), a URL-encoded
 * form, or the query string of a GET. Values come out as parsed JSON, strings or (multipart `body`)
 * a Buffer; the routes' zod schemas coerce them.
 */
import type { IncomingMessage } from 'node:http';
import { Busboy } from '@fastify/busboy';
import { oprError } from './errors.js';

export type Params = Record<string, unknown>;

/** Parts a multipart request may have (the API has fewer than 30 parameters). */
const MAX_PARTS = 64;

/**
 * Bytes of request bodies the listener holds at once, over all requests: each request takes its
 * bytes as they arrive and gives them back when it has been answered.
 */
export class BodyBudget {
  private held = 0;
  private readonly byRequest = new WeakMap<IncomingMessage, number>();

  constructor(readonly maxBytes: number) {}

  take(req: IncomingMessage, bytes: number): void {
    if (this.held + bytes > this.maxBytes) {
      throw oprError(
        'general_unknown',
        `The executor holds ${this.maxBytes} bytes of request bodies, its limit; try again shortly.`,
      );
    }
    this.held += bytes;
    this.byRequest.set(req, (this.byRequest.get(req) ?? 0) + bytes);
  }

  /** Gives back what `req` took (once it has been answered). */
  release(req: IncomingMessage): void {
    this.held -= this.byRequest.get(req) ?? 0;
    this.byRequest.delete(req);
  }
}

/** Reads the request body, refusing more than `maxBytes` (and, given a budget, more than it has left). */
export async function readBody(req: IncomingMessage, maxBytes: number, budget?: BodyBudget): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    throw oprError('execution_bad_request', `Request body is larger than ${maxBytes} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw oprError('execution_bad_request', `Request body is larger than ${maxBytes} bytes.`);
    }
    budget?.take(req, chunk.length);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Fields whose multipart or form value is JSON text. */
const JSON_FIELDS = new Set(['headers', 'variables']);

function fromText(name: string, text: string): unknown {
  if (!JSON_FIELDS.has(name)) return text;
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw oprError('execution_bad_request', `Invalid \`${name}\` param: Value must be a valid JSON object.`);
  }
}

function parseMultipart(contentType: string, body: Buffer): Promise<Params> {
  return new Promise((resolve, reject) => {
    const params: Params = {};
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { 'content-type': contentType },
        // every part as bytes: a binary `body` must stay intact
        isPartAFile: () => true,
        limits: { parts: MAX_PARTS, fieldNameSize: 200 },
      });
    } catch (err) {
      reject(oprError('execution_bad_request', `Invalid multipart body: ${(err as Error).message}`));
      return;
    }
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        try {
          params[name] = name === 'body' ? bytes : fromText(name, bytes.toString('utf8'));
        } catch (err) {
          reject(err);
        }
      });
    });
    parser.on('partsLimit', () =>
      reject(oprError('execution_bad_request', `A request has at most ${MAX_PARTS} parts.`)),
    );
    parser.on('error', (err) =>
      reject(oprError('execution_bad_request', `Invalid multipart body: ${(err as Error).message}`)),
    );
    parser.on('finish', () => resolve(params));
    parser.end(body);
  });
}

/** The parameters of a request (the body of anything but GET, else the query). */
export async function readParams(
  req: IncomingMessage,
  url: URL,
  maxBytes: number,
  budget?: BodyBudget,
): Promise<Params> {
  if (req.method === 'GET' || req.method === 'HEAD') {
    req.resume();
    return Object.fromEntries(url.searchParams);
  }
  const body = await readBody(req, maxBytes, budget);
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length === 0) return {};
  if (contentType.startsWith('multipart/form-data')) {
    return parseMultipart(req.headers['content-type'] ?? '', body);
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const params: Params = {};
    for (const [name, value] of new URLSearchParams(body.toString('utf8')))
      params[name] = fromText(name, value);
    return params;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw oprError('execution_bad_request', 'Request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw oprError('execution_bad_request', 'Request body must be a JSON object.');
  }
  return parsed as Params;
}
