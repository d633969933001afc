/**
 * CORS of one function (skiff.json `cors`): which web origins may call it from a browser, answered by
 * the gateway (src/triggers/http-cors.ts). The spec is checked here; `compileCors` turns it, once per
 * version, into what the gateway writes (the header lines ready, the origins in a set).
 */
import { z } from 'zod';

/** An HTTP token (RFC 9110 §5.6.2): a method or a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * An origin as a browser serialises it: `scheme://host[:port]`, nothing after (no path, no slash);
 * the host a DNS name or an IPv6 literal in brackets. Case is ignored (browsers send lower case).
 */
const ORIGIN =
  /^[a-z][a-z0-9+.-]{0,31}:\/\/([a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*|\[[0-9a-f:.]{2,45}\])(:\d{1,5})?$/i;

/** The default ports browsers leave out of an origin. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** The origin as browsers send it: lower case, without the scheme's default port. */
export function normalOrigin(origin: string): string {
  const lower = origin.toLowerCase();
  const scheme = lower.slice(0, lower.indexOf(':'));
  const port = DEFAULT_PORTS[scheme];
  return port !== undefined && lower.endsWith(`:${port}`) ? lower.slice(0, -port.length - 1) : lower;
}

/** Why an origin is refused, or undefined. */
function originProblem(origin: string): string | undefined {
  if (origin === '*') return undefined;
  if (!ORIGIN.test(origin)) {
    return `cors origin ${JSON.stringify(origin.slice(0, 100))} is not "*" or scheme://host[:port] (such as "https://app.example.com", no path and no trailing slash)`;
  }
  const port = /:(\d+)$/.exec(origin)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return `cors origin ${JSON.stringify(origin)}: the port is 1 to 65535`;
  }
  return undefined;
}

const tokenList = (what: string) =>
  z.array(z.string().min(1).max(100).regex(TOKEN, `a ${what} is an HTTP token (letters, digits, -)`)).max(64);

/** The largest `maxAge`: a day (browsers cap it lower: Chromium at 2 hours, Firefox at a day). */
export const CORS_MAX_AGE_SEC = 86_400;

export const corsSchema = z
  .object({
    /** Exact origins (`https://app.example.com`), or `["*"]` for any. */
    origins: z.array(z.string().min(1).max(300)).min(1).max(64),
    /** Methods a preflight allows (default GET, HEAD, POST, PUT, PATCH, DELETE). */
    methods: tokenList('method').min(1).optional(),
    /** Request headers a preflight allows (default: those the browser asks for). */
    allowHeaders: tokenList('header name').optional(),
    /** Response headers a page may read beyond the CORS-safelisted ones. */
    exposeHeaders: tokenList('header name').optional(),
    /** Whether a page may send cookies and read the answer (not with origin "*"). */
    credentials: z.boolean().optional(),
    /** Seconds a browser may keep a preflight's answer (0 to 86400; absent: the browser's default, 5 s). */
    maxAge: z.number().int().min(0).max(CORS_MAX_AGE_SEC).optional(),
  })
  .strict()
  .superRefine((cors, ctx) => {
    for (const origin of cors.origins) {
      const problem = originProblem(origin);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['origins'] });
    }
    const any = cors.origins.includes('*');
    if (any && cors.origins.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'cors origin "*" allows every origin: give it alone, or list the origins',
        path: ['origins'],
      });
    }
    if (any && cors.credentials === true) {
      ctx.addIssue({
        code: 'custom',
        message:
          'cors credentials: true cannot go with origin "*" (browsers refuse it): list the origins that may send credentials',
        path: ['credentials'],
      });
    }
  });

export type CorsInput = z.infer<typeof corsSchema>;

export const DEFAULT_CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A version's CORS, ready for the gateway (made once per version, model/deployment.ts). */
export interface CorsPolicy {
  /** Origin `*`: every origin allowed, answered `Access-Control-Allow-Origin: *`. */
  any: boolean;
  /** The allowed origins as browsers send them (empty when `any`). */
  origins: ReadonlySet<string>;
  /** Allowed methods, upper case. */
  methods: ReadonlySet<string>;
  /** Allowed request headers, lower case; undefined: those asked for are allowed. */
  allowHeaders: ReadonlySet<string> | undefined;
  /** Name/value pairs a preflight ends with (methods, allowed headers when fixed, credentials, max age). */
  preflight: readonly string[];
  /** Name/value pairs every allowed response ends with (credentials, exposed headers). */
  response: readonly string[];
}

/** The gateway's form of a version's `cors` (undefined without one). */
export function compileCors(cors: CorsInput | undefined): CorsPolicy | undefined {
  if (cors === undefined) return undefined;
  const any = cors.origins.includes('*');
  const methods = [...new Set((cors.methods ?? DEFAULT_CORS_METHODS).map((m) => m.toUpperCase()))];
  const allowHeaders = cors.allowHeaders?.map((h) => h.toLowerCase());
  const credentials = cors.credentials === true ? ['access-control-allow-credentials', 'true'] : [];
  const preflight = [
    'access-control-allow-methods',
    methods.join(', '),
    ...(allowHeaders === undefined || allowHeaders.length === 0
      ? []
      : ['access-control-allow-headers', allowHeaders.join(', ')]),
    ...credentials,
    ...(cors.maxAge === undefined ? [] : ['access-control-max-age', String(cors.maxAge)]),
  ];
  const expose = cors.exposeHeaders ?? [];
  return {
    any,
    origins: new Set(any ? [] : cors.origins.map(normalOrigin)),
    methods: new Set(methods),
    allowHeaders: allowHeaders === undefined ? undefined : new Set(allowHeaders),
    preflight,
    response: [
      ...credentials,
      ...(expose.length === 0 ? [] : ['access-control-expose-headers', expose.join(', ')]),
    ],
  };
}
