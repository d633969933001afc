import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NAME_PATTERN } from '../control/spec.js';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { readBody, sendError } from '../shared/http.js';
import type { Logger } from '../shared/logger.js';
import type { HeaderPairs, Invocation, Result } from '../invoke/types.js';

/** Connection-level headers that are never passed through a proxy hop (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const NOT_FROM_FUNCTION = new Set([...HOP_BY_HOP, 'content-length', 'date']);

export interface HttpTriggerDeps {
  invoke: (inv: Invocation) => Promise<Result>;
  maxBodyBytes: number;
  logger: Logger;
}

function requestHeaders(raw: string[]): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    if (!HOP_BY_HOP.has(key)) pairs.push([key, raw[i + 1] as string]);
  }
  return pairs;
}

/** The Host the function sees in its URL; anything that is not a plain host[:port] becomes localhost. */
function safeHost(host: string | undefined): string {
  return host !== undefined && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host)
    ? host
    : 'localhost';
}

function writeResult(res: ServerResponse, result: Result, invocationId: string): void {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of result.headers) {
    const name = key.toLowerCase();
    if (NOT_FROM_FUNCTION.has(name)) continue;
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  headers['x-skiff-invocation-id'] = invocationId;
  headers['content-length'] = String(result.body.length);
  try {
    res.writeHead(result.status, headers);
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_BAD_RESPONSE',
      `the function returned an invalid status or header: ${(err as Error).message}`,
    );
  }
  res.end(result.body);
}

/**
 * The HTTP gateway: `/{name}` and `/{name}/{rest...}` invoke the function with the method, the path
 * below the name, the query, the headers and the body; the function's status, headers and body come back.
 */
export function createHttpTrigger(deps: HttpTriggerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = randomUUID();
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      const slash = pathname.indexOf('/', 1);
      const name = slash === -1 ? pathname.slice(1) : pathname.slice(1, slash);
      if (!NAME_PATTERN.test(name)) {
        throw new SkiffError(
          'SKIFF_E_FUNCTION_NOT_FOUND',
          'call a function at /<name>; list them with `skiff fn list`',
        );
      }
      const body = await readBody(req, deps.maxBodyBytes);
      const inv: Invocation = {
        id,
        function: name,
        trigger: 'http',
        method: req.method ?? 'GET',
        path: slash === -1 ? '/' : pathname.slice(slash),
        query: q === -1 ? '' : url.slice(q + 1),
        headers: requestHeaders(req.rawHeaders),
        body,
        deadline: 0,
        host: safeHost(req.headers.host),
      };
      writeResult(res, await deps.invoke(inv), id);
    } catch (err) {
      const error = toSkiffError(err);
      if (!error.isUserError) deps.logger.error({ err, invocationId: id }, 'invocation failed');
      res.setHeader('x-skiff-invocation-id', id);
      // Details (such as an instance's stderr) are for the function's owner, not for its callers.
      sendError(
        res,
        error.details === undefined
          ? error
          : new SkiffError(error.code, error.message, {
              ...(error.retryAfterSec === undefined ? {} : { retryAfterSec: error.retryAfterSec }),
            }),
      );
    }
  };
}
