/** tinyFaaS's invocation rules on the HTTP gateway (docs/compat/tinyfaas.md), as gateway rules. */
import type { IncomingMessage } from 'node:http';
import type { HeaderPairs } from '../../model/invocation.js';
import type { SkiffError } from '../../shared/errors.js';
import type { AsyncReply, GatewayRoute, GatewayRules } from '../../triggers/gateway-rules.js';
import { SKIFF_RULES } from '../../triggers/skiff-rules.js';

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

/**
 * The text a tinyFaaS caller gets for a failure: the function's own error text when its flavor shows
 * it to callers; a native function's text stays in its logs (the caller gets Skiff's message).
 */
export function tinyFaasErrorText(error: SkiffError): string {
  const details = error.details as { functionError?: unknown; showsErrorText?: unknown } | undefined;
  return typeof details?.functionError === 'string' && details.showsErrorText === true
    ? details.functionError
    : error.message;
}

/** tinyFaaS's async reply: an empty 202, no callback. */
const TINYFAAS_ASYNC_REPLY: AsyncReply = {
  callbacks: false,
  accepted(res, id) {
    res.writeHead(202, { 'content-length': '0', 'x-skiff-invocation-id': id }).end();
  },
};

/**
 * tinyFaaS's rules: `/<name>` (the whole path), `X-tinyFaaS-Async` (Skiff's async headers work too), a
 * default Content-Type, an empty 404 for an unknown function and plain-text errors with the function's
 * own text, 500 for every server-side failure.
 */
export const TINYFAAS_RULES: GatewayRules = {
  route: tinyFaasRoute,
  asyncCall: (req) => (tinyFaasWantsAsync(req) ? TINYFAAS_ASYNC_REPLY : SKIFF_RULES.asyncCall(req)),
  result: (result) => ({ ...result, headers: withDefaultContentType(result.headers, result.body) }),
  failure(res, error) {
    if (error.code === 'SKIFF_E_FUNCTION_NOT_FOUND') {
      res.writeHead(404, { 'content-length': '0' }).end();
      return true;
    }
    const text = Buffer.from(`${tinyFaasErrorText(error)}\n`);
    res.writeHead(error.status >= 500 ? 500 : error.status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(text.length),
    });
    res.end(text);
    return true;
  },
};
