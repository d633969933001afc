import type { IncomingMessage } from 'node:http';
import type { HeaderPairs } from '../../model/invocation.js';
import type { SkiffError } from '../../shared/errors.js';

/** Where a gateway request goes: the function, and the path and query it sees. */
export interface GatewayRoute {
  name: string;
  path: string;
  query: string;
}

/** tinyFaaS: the name is the whole path without its leading `/`s; the query is ignored. */
export function tinyFaasRoute(url: string): GatewayRoute {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  return { name: pathname.replace(/^\/+/, ''), path: '/', query: '' };
}

/** tinyFaaS: any non-empty `X-tinyFaaS-Async` asks for an async call. */
export function tinyFaasWantsAsync(req: IncomingMessage): boolean {
  const flag = req.headers['x-tinyfaas-async'];
  return typeof flag === 'string' && flag !== '';
}

/** tinyFaaS: a reply without Content-Type gets text/plain (or octet-stream when not UTF-8). */
export function withDefaultContentType(headers: HeaderPairs, body: Buffer): HeaderPairs {
  if (headers.some(([key]) => key.toLowerCase() === 'content-type')) return headers;
  let utf8 = true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    utf8 = false;
  }
  return [...headers, ['content-type', utf8 ? 'text/plain; charset=utf-8' : 'application/octet-stream']];
}

/** The text a tinyFaaS caller gets for a failure: the function's own error text when there is one. */
export function tinyFaasErrorText(error: SkiffError): string {
  const details = error.details as { functionError?: unknown } | undefined;
  return typeof details?.functionError === 'string' ? details.functionError : error.message;
}
