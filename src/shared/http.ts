import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { SkiffError } from './errors.js';

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before any byte is read; a streamed body is cut off as soon as it passes the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    // a client that leaves mid-body is not the platform's failure: a user error, logged at debug at most
    req.on('error', (err) => reject(clientClosed(err)));
    req.on('close', () => {
      if (!req.complete) reject(clientClosed());
    });
  });
}

function clientClosed(cause?: Error): SkiffError {
  return new SkiffError(
    'SKIFF_E_INVALID_REQUEST',
    'the client closed the connection before the request body ended',
    cause === undefined ? {} : { cause },
  );
}

function tooLarge(limit: number): SkiffError {
  return new SkiffError(
    'SKIFF_E_PAYLOAD_TOO_LARGE',
    `the request body is larger than the limit of ${limit} bytes`,
  );
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const body = Buffer.from(JSON.stringify(value));
  // the reason phrase named, so that one left by an earlier writeHead that threw does not stay
  res.writeHead(status, STATUS_CODES[status] ?? '', {
    'content-type': 'application/json',
    'content-length': body.length,
    ...extraHeaders,
  });
  res.end(body);
}

export function sendError(res: ServerResponse, err: SkiffError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // After refusing a body we did not read, close the connection rather than drain it.
  const headers: Record<string, string> = err.status === 413 ? { connection: 'close' } : {};
  if (err.retryAfterSec !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  sendJson(res, err.status, err.toBody(), headers);
}
