/**
 * Baetyl v2's function proxy (upstream `baetyl-function`, port 50011) on a listener of its own, plain
 * HTTP: `GET|POST|PUT|DELETE /<service>` and `/<service>/<function>`. The body is the payload; the
 * function's context is upstream's Metadata `{serviceName, functionName, invokeId}` (the URL's function
 * name as given, "" when absent; `invokeId` from the `invokeid` header, else a new UUID), passed as
 * `baetyl-context` with `baetyl-generation: 2` (call.ts). The service names a group of functions
 * (services.ts; an empty function name takes the first).
 *
 * Answers as upstream's: 200 with the output (`Content-Type: application/json` only when it is valid
 * JSON, else fasthttp's default `text/plain; charset=utf-8`); errors as JSON `{"errCode","message"}`:
 * 404 `ERR_ADDRESS_RESOLVE` for an unknown service, 500 `ERR_GET_GRPC_CONN` for a recorded service's
 * function that is not deployed, 500 `ERR_FUNCTION_CALL` with the error as a Go gRPC client prints it
 * (`rpc error: code = Unknown desc = <text>`). Skiff's own limits: a body over
 * `compat.baetyl.maxMessageBytes` is 413, a private function's refusal its 401/403.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { readBody } from '../../shared/http.js';
import { connectionLimits, httpTimeouts } from '../../shared/connection-budget.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import { FailureLog } from '../../shared/failure-log.js';
import { ConnectionGuard, httpServerOptions, listenAll } from '../../shared/listeners.js';
import { oneRequestAtATime } from '../../shared/pipelining.js';
import { localUrl } from '../../shared/urls.js';
import type { RunningTrigger, TriggerContext } from '../../triggers/types.js';
import { baetylFunctions, callFunction, exists, tokenHeaders } from './call.js';
import { NO_FUNCTIONS_V2, NOT_FOUND_V2 } from './grpc.js';
import { isJson } from './json-valid.js';
import { resolveV2 } from './services.js';

/** Whether a body is one JSON value (Go's json.Valid), for the answer's Content-Type. */
export { isJson };

/** The endpoint's name in endpoints.json. */
export const PROXY_ENDPOINT = 'baetyl-proxy';
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);
/** fasthttp's Content-Type when a handler sets none. */
const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Upstream's text for a service it cannot resolve (its native service mapping's). */
export const NO_SUCH_SERVICE = 'no such service in services mapping file';
/** Connections the proxy holds at most (its clients are a rule engine and local programs). */
const MAX_CONNECTIONS = 512;

export interface ProxyOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  lookupService(service: string): readonly string[] | undefined;
}

function respond(
  res: ServerResponse,
  status: number,
  body: Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, STATUS_CODES[status] ?? '', {
    'content-type': isJson(body) ? 'application/json' : DEFAULT_CONTENT_TYPE,
    'content-length': body.length,
    ...extra,
  });
  res.end(body);
}

function respondError(res: ServerResponse, status: number, errCode: string, message: string): void {
  respond(res, status, Buffer.from(JSON.stringify({ errCode, message })));
}

/** `/<service>` or `/<service>/<function>`, percent-decoded; undefined for any other path. */
export function routeOf(url: string): { service: string; functionName: string } | undefined {
  const q = url.indexOf('?');
  const segments = (q === -1 ? url : url.slice(0, q)).split('/').slice(1);
  if (segments.length < 1 || segments.length > 2) return undefined;
  try {
    const [service = '', functionName = ''] = segments.map((s) => decodeURIComponent(s));
    if (service === '' || (segments.length === 2 && functionName === '')) return undefined;
    return { service, functionName };
  } catch {
    return undefined;
  }
}

/** A platform error's answer: a refusal keeps its status, the rest is upstream's failed call. */
function platformError(res: ServerResponse, error: SkiffError): void {
  if (error.code === 'SKIFF_E_UNAUTHORIZED' || error.code === 'SKIFF_E_FORBIDDEN') {
    respondError(res, error.status, 'ERR_FUNCTION_CALL', error.message);
    return;
  }
  const text = error.code === 'SKIFF_E_FUNCTION_NOT_FOUND' ? NOT_FOUND_V2 : error.message;
  respondError(res, 500, 'ERR_FUNCTION_CALL', `rpc error: code = Unknown desc = ${text}`);
}

/** The proxy's request handler. */
export function proxyApp(ctx: TriggerContext, options: ProxyOptions) {
  const failures = new FailureLog(ctx.logger);
  const isBaetylFunction = baetylFunctions(ctx);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = routeOf(req.url ?? '/');
    if (route === undefined || !METHODS.has(req.method ?? '')) {
      req.resume();
      const status = route === undefined ? 404 : 405;
      respond(res, status, Buffer.from(STATUS_CODES[status] ?? ''));
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, options.maxMessageBytes);
    } catch (err) {
      const error = toSkiffError(err);
      if (error.code !== 'SKIFF_E_PAYLOAD_TOO_LARGE') {
        res.destroy();
        return;
      }
      respond(
        res,
        413,
        Buffer.from(JSON.stringify({ errCode: 'ERR_BODY_TOO_LARGE', message: error.message })),
        { connection: 'close' },
      );
      return;
    }
    const { service, functionName } = route;
    const header = req.headers['invokeid'];
    const invokeId = typeof header === 'string' && header !== '' ? header : randomUUID();
    const target = resolveV2(options.lookupService, isBaetylFunction, service, functionName);
    if (!target.ok) {
      if (target.reason === 'no-service') respondError(res, 404, 'ERR_ADDRESS_RESOLVE', NO_SUCH_SERVICE);
      else {
        const text = target.reason === 'no-functions' ? NO_FUNCTIONS_V2 : NOT_FOUND_V2;
        respondError(res, 500, 'ERR_FUNCTION_CALL', `rpc error: code = Unknown desc = ${text}`);
      }
      return;
    }
    if (!exists(ctx, target.fn)) {
      respondError(
        res,
        500,
        'ERR_GET_GRPC_CONN',
        `function ${target.fn} of service ${service} is not deployed`,
      );
      return;
    }
    const outcome = await callFunction(ctx, {
      fn: target.fn,
      payload: body,
      context: { serviceName: service, functionName, invokeId },
      generation2: true,
      trigger: 'http',
      tokens: tokenHeaders(Object.entries(req.headers)),
      deadline: 0,
    });
    if (outcome.ok) respond(res, 200, outcome.payload);
    else if (outcome.kind === 'function') {
      respondError(res, 500, 'ERR_FUNCTION_CALL', `rpc error: code = Unknown desc = ${outcome.text}`);
    } else {
      failures.failed(outcome.error, outcome.error, { fn: target.fn }, 'Baetyl proxy call failed');
      platformError(res, outcome.error);
    }
  };
}

/** Starts the proxy (a listener of the dialect, DialectParts.listeners). */
export async function startProxy(ctx: TriggerContext, options: ProxyOptions): Promise<RunningTrigger> {
  const guard = new ConnectionGuard(
    PROXY_ENDPOINT,
    connectionLimits(ctx.config, MAX_CONNECTIONS),
    ctx.logger,
  );
  const app = proxyApp(ctx, options);
  const servers: Server[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    app(req, res).catch((err: unknown) => {
      ctx.logger.error({ err }, 'Baetyl proxy request failed');
      if (!res.headersSent) respondError(res, 500, 'ERR_FUNCTION_CALL', 'internal error');
      else res.destroy();
    });
  };
  let listening: Awaited<ReturnType<typeof listenAll<Server>>>;
  try {
    listening = await listenAll(
      () => {
        const server = createServer(httpServerOptions(httpTimeouts(ctx.config)), oneRequestAtATime(handler));
        guard.attachHttp(server);
        servers.push(server);
        return server;
      },
      options.host,
      options.port,
    );
  } catch (err) {
    guard.close();
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `cannot listen for the Baetyl proxy on ${options.host}:${options.port} (${(err as Error).message}): free the port, pick another with compat.baetyl.proxy.port, or set compat.baetyl.proxy.enabled to false`,
      { cause: err },
    );
  }
  const url = localUrl('http', listening.address);
  return {
    endpoint: { name: PROXY_ENDPOINT, url },
    notes: [`Baetyl v2 function proxy: ${url}/<service>[/<function>]`],
    async stop() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeIdleConnections();
              // calls in flight get the drain time the platform gives everything else
              setTimeout(() => server.closeAllConnections(), 2_000).unref();
            }),
        ),
      );
      guard.close();
    },
  };
}
