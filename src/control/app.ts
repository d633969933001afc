import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { sendError } from '../shared/http.js';
import { FailureLog } from '../shared/failure-log.js';
import type { Logger } from '../shared/logger.js';
import { createTokenCheck, createTokenTest } from './auth.js';
import type { RequestGuard } from './request-guard.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Route {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path with `{param}` segments, e.g. `/v1/functions/{name}`. */
  path: string;
  /** Routes are private unless marked public. */
  public?: boolean;
  /** A private route's own check of `Authorization` instead of the admin token's (throws SKIFF_E_UNAUTHORIZED). */
  authorize?: (authorization: string | undefined) => void;
  handler: (ctx: RouteContext) => Promise<void> | void;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, regex: new RegExp(`^${source}$`), names };
}

/**
 * A handler consulted before the routes (a compatibility API): it answers the request and resolves
 * true, or resolves false without touching it. It does its own access checks.
 */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * The control API as a request handler (an app factory: it never listens; server.ts does). `guard`
 * sees every request first, the compatibility handlers' too (request-guard.ts: no web page gets in).
 * A request that carries the admin token calls `onProven` (its connection is then kept when the
 * listener is full: see ConnectionGuard's `evictUnproven`); the answer to any other request (the
 * public routes, every 401, 403 and 404) closes its connection, so that a stranger cannot hold a
 * keep-alive connection of the control API open.
 */
export function createControlApp(
  routes: Route[],
  token: string,
  logger: Logger,
  raw: RawHandler[],
  guard: RequestGuard,
  onProven: (req: IncomingMessage) => void = () => undefined,
) {
  const failures = new FailureLog(logger);
  const compiled = routes.map(compile);
  const checkToken = createTokenCheck(token);
  const hasToken = createTokenTest(token);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const proven = hasToken(req.headers.authorization);
      if (!proven) res.setHeader('connection', 'close');
      guard(req);
      if (proven) onProven(req);
      for (const handler of raw) if (await handler(req, res)) return;
      const url = new URL(req.url ?? '/', 'http://control');
      const matches = compiled
        .map((route) => ({ route, m: route.regex.exec(url.pathname) }))
        .filter((x): x is { route: CompiledRoute; m: RegExpExecArray } => x.m !== null);
      const hit = matches.find((x) => x.route.method === req.method);
      if (hit?.route.public !== true) (hit?.route.authorize ?? checkToken)(req.headers.authorization);
      if (hit === undefined) {
        if (matches.length > 0) {
          const allowed = matches.map((x) => x.route.method).join(', ');
          throw new SkiffError(
            'SKIFF_E_METHOD_NOT_ALLOWED',
            `${req.method} is not allowed here; use ${allowed}`,
          );
        }
        throw new SkiffError(
          'SKIFF_E_NOT_FOUND',
          `no API route ${req.method} ${url.pathname}; see /v1/openapi.json`,
        );
      }
      const params: Record<string, string> = {};
      hit.route.names.forEach((name, i) => {
        const raw = hit.m[i + 1] ?? '';
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          throw new SkiffError(
            'SKIFF_E_INVALID_REQUEST',
            `malformed percent-encoding in ${JSON.stringify(raw)}`,
          );
        }
      });
      await hit.route.handler({ req, res, params, query: url.searchParams });
    } catch (err) {
      const error = toSkiffError(err);
      failures.failed(error, err, { method: req.method, url: req.url }, 'control API error');
      sendError(res, error);
    }
  };
}
