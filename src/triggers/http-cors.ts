/**
 * CORS at the gateway, for a function with `cors` in its skiff.json (model/cors.ts), as the Fetch
 * standard's CORS protocol and the usual middleware (Hono's `cors`, Express's `cors`) do it:
 *
 * - a preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is answered here, without
 *   the function: 204 with the allowed origin (echoed), methods, headers, credentials and max age; or
 *   403 `SKIFF_E_CORS_REFUSED` without any `Access-Control-Allow-*` header when the origin, the method
 *   or a requested header is not allowed;
 * - every other response (the function's, and the gateway's errors) gets `Access-Control-Allow-Origin`
 *   (and credentials, exposed headers) when its `Origin` is allowed, and `Vary: Origin` always; the
 *   function's own `Access-Control-*` headers are dropped: the gateway's answer is the one CORS answer.
 *
 * The request's `Origin` is echoed only when it equals an allowed origin (which the spec checked), and
 * the asked-for headers only when they are a short list of HTTP tokens: nothing a client sends reaches
 * a response header unchecked.
 */
import type { CorsPolicy } from '../model/cors.js';
import { SkiffError } from '../shared/errors.js';

/** What a request says of CORS, read from its raw headers in one walk. */
interface CorsRequest {
  origin: string | undefined;
  requestMethod: string | undefined;
  requestHeaders: string | undefined;
}

function corsRequest(raw: readonly string[]): CorsRequest {
  const found: CorsRequest = { origin: undefined, requestMethod: undefined, requestHeaders: undefined };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    // the three names are 6, 29 and 30 characters long
    if (key.length !== 6 && key.length !== 29 && key.length !== 30) continue;
    const name = key.toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'origin') found.origin ??= value;
    else if (name === 'access-control-request-method') found.requestMethod ??= value;
    else if (name === 'access-control-request-headers') {
      found.requestHeaders = found.requestHeaders === undefined ? value : `${found.requestHeaders},${value}`;
    }
  }
  return found;
}

/** The most header names a preflight may ask for, and the longest list read. */
const MAX_REQUESTED_HEADERS = 64;
const MAX_REQUESTED_CHARS = 4096;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** The asked-for header names, lower case; undefined when the list is not a short list of tokens. */
function requestedHeaders(list: string | undefined): string[] | undefined {
  if (list === undefined) return [];
  if (list.length > MAX_REQUESTED_CHARS) return undefined;
  const names = list
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.length > MAX_REQUESTED_HEADERS || !names.every((name) => TOKEN.test(name))) return undefined;
  return names;
}

export type CorsStep =
  /** Answer now, without the function: status and flat header pairs (a 403 also has an error). */
  | { answer: { status: number; headers: string[]; error?: SkiffError } }
  /** Go on: these flat header pairs go on the response (the function's Access-Control-* dropped). */
  | { answer?: undefined; headers: string[] };

const VARY_ORIGIN = ['vary', 'Origin'] as const;

function refused(why: string): CorsStep {
  return {
    answer: {
      status: 403,
      headers: [...VARY_ORIGIN],
      error: new SkiffError(
        'SKIFF_E_CORS_REFUSED',
        `cross-origin request refused: ${why} is not allowed by the function's cors (skiff.json)`,
      ),
    },
  };
}

/** What the gateway does about CORS for a request to a function with a policy. */
export function corsStep(policy: CorsPolicy, method: string | undefined, raw: readonly string[]): CorsStep {
  const req = corsRequest(raw);
  const origin = req.origin;
  const allowed = origin !== undefined && (policy.any || policy.origins.has(origin));
  const allowOrigin = policy.any ? '*' : (origin as string);
  if (method === 'OPTIONS' && origin !== undefined && req.requestMethod !== undefined) {
    if (!allowed) return refused('the origin');
    if (!policy.methods.has(req.requestMethod.trim().toUpperCase())) return refused('the method');
    const asked = requestedHeaders(req.requestHeaders);
    if (asked === undefined) return refused('the Access-Control-Request-Headers list');
    const fixed = policy.allowHeaders;
    if (fixed !== undefined && !asked.every((name) => fixed.has(name))) return refused('a request header');
    const reflect = fixed === undefined && asked.length > 0;
    return {
      answer: {
        status: 204,
        headers: [
          'vary',
          reflect ? 'Origin, Access-Control-Request-Headers' : 'Origin',
          'access-control-allow-origin',
          allowOrigin,
          ...policy.preflight,
          ...(reflect ? ['access-control-allow-headers', asked.join(', ')] : []),
        ],
      },
    };
  }
  if (!allowed) return { headers: [...VARY_ORIGIN] };
  return { headers: [...VARY_ORIGIN, 'access-control-allow-origin', allowOrigin, ...policy.response] };
}
