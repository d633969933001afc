/**
 * Scaleway's HTTP rules for functions of flavor `scaleway` (docs/compat/scaleway.md), on every
 * gateway: the headers its proxy adds to requests (`Forwarded`, `X-Forwarded-For`,
 * `X-Forwarded-Proto`, `X-Envoy-External-Address`, `K-Proxy-Request`, `X-Request-Id`), CORS and
 * `server: envoy` on every response, `/favicon.ico` and `/robots.txt` answered without the handler,
 * its 413 text, `SCW_TRIGGER_TYPE` values it does not serve refused, and plain-text errors.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderPairs, Result } from '../../model/invocation.js';
import type { SkiffError } from '../../shared/errors.js';
import type { GatewayRules } from '../../triggers/gateway-rules.js';
import { SKIFF_RULES } from '../../triggers/skiff-rules.js';

/** What every response carries unless the function set the same header (any case). */
const DEFAULT_HEADERS: HeaderPairs = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Headers', 'Content-Type'],
  ['server', 'envoy'],
];

const UNANSWERED_PATHS = new Set(['/favicon.ico', '/robots.txt']);
export const TRIGGER_NOT_SUPPORTED = 'Trigger Type is not supported by Scaleway Functions Runtime';

/** The response headers with Scaleway's defaults for those the function did not set. */
export function withDefaults(headers: HeaderPairs): HeaderPairs {
  const set = new Set(headers.map(([name]) => name.toLowerCase()));
  return [...headers, ...DEFAULT_HEADERS.filter(([name]) => !set.has(name.toLowerCase()))];
}

const text = (status: number, body: string): Result => ({
  status,
  headers: [['content-type', 'text/plain; charset=utf-8']],
  body: Buffer.from(body === '' ? '' : `${body}\n`),
});

/** The client's address as the proxy reports it (an IPv4-mapped IPv6 address as IPv4). */
function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Scaleway's rules on a gateway, with the gateway's body limit (`http.maxBodyBytes`). */
export function scalewayRules(maxBodyBytes: number): GatewayRules {
  const tooLarge = `Request payload too large, max payload size = ${maxBodyBytes} bytes`;
  return {
    route: SKIFF_RULES.route,
    asyncCall: SKIFF_RULES.asyncCall,
    admit(req, route) {
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return text(413, tooLarge);
      if (UNANSWERED_PATHS.has(route.path)) return { status: 404, headers: [], body: Buffer.alloc(0) };
      const trigger = req.headers['scw_trigger_type'] ?? req.headers['scw-trigger-type'];
      if (typeof trigger === 'string' && trigger !== '' && trigger !== 'mqtt') {
        return text(400, TRIGGER_NOT_SUPPORTED);
      }
      return undefined;
    },
    requestHeaders(req, headers) {
      const address = clientAddress(req);
      const proto = 'encrypted' in req.socket && req.socket.encrypted === true ? 'https' : 'http';
      const forwardedFor = req.headers['x-forwarded-for'];
      const kept = headers.filter(
        ([name]) =>
          ![
            'forwarded',
            'x-forwarded-for',
            'x-forwarded-proto',
            'x-envoy-external-address',
            'k-proxy-request',
            'x-request-id',
          ].includes(name),
      );
      return [
        ...kept,
        ['forwarded', `for=${address};proto=${proto}`],
        [
          'x-forwarded-for',
          typeof forwardedFor === 'string' && forwardedFor !== '' ? `${forwardedFor}, ${address}` : address,
        ],
        ['x-forwarded-proto', proto],
        ['x-envoy-external-address', address],
        ['k-proxy-request', 'activator'],
        ['x-request-id', randomUUID()],
      ];
    },
    result: (result) => ({ ...result, headers: withDefaults(result.headers) }),
    failure(res: ServerResponse, error: SkiffError, gatewayCors?: boolean) {
      const reply =
        error.code === 'SKIFF_E_PAYLOAD_TOO_LARGE'
          ? text(413, tooLarge)
          : error.code === 'SKIFF_E_FUNCTION_NOT_FOUND'
            ? text(404, error.message)
            : text(error.status, error.message);
      // with skiff.json `cors` the gateway's CORS headers (set on res) are the only ones: not the `*`
      const headers = withDefaults(reply.headers).filter(
        ([name]) => gatewayCors !== true || !name.toLowerCase().startsWith('access-control-'),
      );
      res.writeHead(reply.status, [...headers.flat(), 'content-length', String(reply.body.length)]);
      res.end(reply.body);
      return true;
    },
  };
}
