/**
 * Skiff's own gateway rules: `/{name}` and `/{name}/{rest...}` (the function sees the rest and the
 * query), async with `X-Skiff-Async: true` or `Prefer: respond-async` (202 with a JSON body and a
 * Location), the function's result as it is, and JSON errors.
 */
import type { IncomingMessage } from 'node:http';
import type { AsyncReply, GatewayRoute, GatewayRules } from './gateway-rules.js';

/**
 * A header's value as `req.headers` has it for a name node:http does not know (repeats joined with
 * `, `), read from the raw headers: a request that does not ask for it builds no headers object.
 */
function rawHeader(raw: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    value = value === undefined ? (raw[i + 1] as string) : `${value}, ${raw[i + 1] as string}`;
  }
  return value;
}

/** `X-Skiff-Async: true`, or `Prefer: respond-async` (RFC 7240). */
export function wantsAsync(req: IncomingMessage): boolean {
  const flag = rawHeader(req.rawHeaders, 'x-skiff-async');
  const prefer = rawHeader(req.rawHeaders, 'prefer');
  return (
    (typeof flag === 'string' && flag.trim().toLowerCase() === 'true') ||
    (typeof prefer === 'string' && /(^|[\s,;])respond-async([\s,;]|$)/i.test(prefer))
  );
}

/** `/{name}` and `/{name}/{rest...}`; the function sees the rest and the query. */
export function skiffRoute(url: string): GatewayRoute {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const slash = pathname.indexOf('/', 1);
  return {
    name: slash === -1 ? pathname.slice(1) : pathname.slice(1, slash),
    path: slash === -1 ? '/' : pathname.slice(slash),
    query: q === -1 ? '' : url.slice(q + 1),
  };
}

/** 202 with `{ id, status: 'queued', location }` and a Location header; a callback may be named. */
export const SKIFF_ASYNC_REPLY: AsyncReply = {
  callbacks: true,
  accepted(res, id, location) {
    const where = location();
    const payload = Buffer.from(JSON.stringify({ id, status: 'queued', location: where }));
    res.writeHead(202, {
      'content-type': 'application/json',
      'content-length': String(payload.length),
      location: where,
      'x-skiff-invocation-id': id,
    });
    res.end(payload);
  },
};

export const SKIFF_RULES: GatewayRules = {
  route: skiffRoute,
  asyncCall: (req) => (wantsAsync(req) ? SKIFF_ASYNC_REPLY : undefined),
  result: (result) => result,
  failure: () => false,
};
