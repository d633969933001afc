/**
 * Refusing a request whose body is still coming (an upload over the limit) so that the client reads
 * the answer. Closing the connection with unread bytes makes the kernel reset it, and a client still
 * sending then sees EPIPE or ECONNRESET, not the answer. So the answer keeps the connection, the rest
 * of the body is read and thrown away (nothing of it is kept), and the connection is reset only when
 * the client sends more than `maxBytes` after the answer or is not done within `maxMs`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SkiffError } from './errors.js';
import { sendError, sendJson } from './http.js';

export interface DrainBounds {
  maxBytes: number;
  maxMs: number;
}

export const DRAIN_BOUNDS: DrainBounds = { maxBytes: 256 * 1024 * 1024, maxMs: 30_000 };

export function sendRefusal(
  req: IncomingMessage,
  res: ServerResponse,
  err: SkiffError,
  bounds: DrainBounds = DRAIN_BOUNDS,
): void {
  // a connection already to be closed (a stranger's), or a body read to its end: the usual answer
  if (req.complete || res.hasHeader('connection')) {
    sendError(res, err);
    return;
  }
  // also when the client asked to close after this request (node's http client without an agent
  // does): node would close with the rest of the body unread, the reset this is here to avoid
  res.shouldKeepAlive = true;
  res.once('finish', () => {
    if (req.complete) return;
    // node reads and throws away the rest of the body once the answer is sent (keep-alive)
    let read = 0;
    const reset = (): void => {
      clearTimeout(timer);
      req.socket.destroy();
    };
    const timer = setTimeout(reset, bounds.maxMs);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > bounds.maxBytes) reset();
    });
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  });
  sendJson(res, err.status, err.toBody());
}
