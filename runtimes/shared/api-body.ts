/**
 * The request bodies of `$SKIFF_API` (api-server.ts): read up to a limit, and what is left of a refused
 * one read and dropped, bounded; and the error the API answers with.
 */
import type http from 'node:http';
import { ERROR_CODES } from '../../src/shared/errors.js';
import type { ApiLimits } from './api-server.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = statusOf(code),
  ) {
    super(message);
  }
}

/** The HTTP status of a SKIFF_E_* code (502 for a code this build does not know). */
export function statusOf(code: string): number {
  return (ERROR_CODES as Record<string, { status: number } | undefined>)[code]?.status ?? 502;
}

/** Reads the body up to `max` bytes; a declared or actual size over it is 413. */
export function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    return Promise.reject(tooLarge(declared, max));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        req.pause();
        reject(tooLarge(size, max));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(size: number, max: number): ApiError {
  return new ApiError(
    'SKIFF_E_PAYLOAD_TOO_LARGE',
    `the request body of ${size} bytes or more is larger than the limit of ${max} bytes`,
  );
}

/**
 * Reads and drops what is left of a refused request's body, up to twice the body limit and the idle
 * timeout; past either the connection is closed (a client may not keep the bridge busy with it).
 */
export function discardRest(req: http.IncomingMessage, limits: ApiLimits): void {
  let dropped = 0;
  const stop = (): void => {
    req.socket.destroy();
  };
  const timer = setTimeout(stop, limits.idleTimeoutMs);
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > 2 * limits.maxBodyBytes) stop();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
