/**
 * The health probes in front of a listener's app (server.ts wraps the control API and every gateway
 * port with it): answered before any route, dialect or host route is looked at, so that no function
 * can take their paths, and without a token (they tell nothing but live / ready). While the platform
 * drains, every other request is refused with SKIFF_E_SHUTTING_DOWN (503, connection closed) rather
 * than a refused connection, so that the probes can still say "draining" until the listener closes.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { SkiffError } from './errors.js';
import type { Health } from './health.js';
import { sendError, sendJson } from './http.js';

/** The prefix of the function port kept for the platform: no function name can start with `_`. */
export const RESERVED_PREFIX = '/_skiff/';
export const GATEWAY_PROBES = { live: '/_skiff/health/live', ready: '/_skiff/health/ready' } as const;
export const CONTROL_PROBES = { live: '/v1/health/live', ready: '/v1/health/ready' } as const;

export interface ProbePaths {
  live: string;
  ready: string;
  /** Every other path under it is the platform's too: 404, never the app's. */
  reserved?: string;
  /** Paths still handed to the app while draining (the control API's old liveness `/v1/health`). */
  whileDraining?: readonly string[];
}

/** Answers a liveness probe: the event loop answered. */
export function answerLive(res: ServerResponse): void {
  sendJson(res, 200, { status: 'live' }, { 'cache-control': 'no-store' });
}

/** Answers a readiness probe: 200 when ready, else 503 with the phase and a reason. */
export function answerReady(health: Health, res: ServerResponse): void {
  const r = health.readiness();
  const body = r.ready ? { status: 'ready' } : { status: r.phase, reason: r.reason };
  sendJson(res, r.ready ? 200 : 503, body, { 'cache-control': 'no-store' });
}

export function withHealth(app: RequestListener, health: Health, paths: ProbePaths): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q === -1 ? raw : raw.slice(0, q);
    const probe = pathname === paths.live ? 'live' : pathname === paths.ready ? 'ready' : undefined;
    if (probe !== undefined || (paths.reserved !== undefined && pathname.startsWith(paths.reserved))) {
      // the body, if any, is not read: the answer closes the connection
      res.setHeader('connection', 'close');
      if (probe === undefined) {
        sendError(res, new SkiffError('SKIFF_E_NOT_FOUND', `${pathname} is reserved for the platform`));
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(
          res,
          new SkiffError('SKIFF_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use GET`),
        );
      } else if (probe === 'live') answerLive(res);
      else answerReady(health, res);
      return;
    }
    if (health.draining && !(paths.whileDraining ?? []).includes(pathname)) {
      res.setHeader('connection', 'close');
      sendError(res, new SkiffError('SKIFF_E_SHUTTING_DOWN', 'the platform is stopping; retry shortly'));
      return;
    }
    app(req, res);
  };
}
