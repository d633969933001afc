import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RawHandler } from '../../control/app.js';
import { createTokenCheck } from '../../control/auth.js';
import type { Deployer } from '../../control/deploy/deployer.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import { readBody, sendError } from '../../shared/http.js';
import type { Logger } from '../../shared/logger.js';
import type { OutboundPolicy } from '../../shared/outbound.js';
import type { FileLogStore } from '../../store/file-logs.js';
import type { Registry } from '../../store/registry.js';
import { decodeZip, deployRequest, download, fail, selectFolder, subfolder, tinyName } from './upload.js';

export interface TinyFaasManagementDeps {
  registry: Registry;
  deployer: Deployer;
  logs: FileLogStore;
  token: string;
  logger: Logger;
  /** The platform's endpoints (name → URL), known once the listeners are up. */
  endpoints: () => Record<string, string>;
  maxUploadBytes: number;
  /** The platform's default maxInstances: a larger `threads` raises the maximum too. */
  maxInstances: number;
  /** Upstream's trust model: requests from loopback need no token (`compat.tinyfaas.trustLoopback`). */
  trustLoopback: boolean;
  /** Where `/uploadURL` may download from (`outbound.allowPrivate`). */
  outbound: OutboundPolicy;
}

const ROUTES: Record<string, 'GET' | 'POST'> = {
  '/upload': 'POST',
  '/uploadURL': 'POST',
  '/delete': 'POST',
  '/list': 'GET',
  '/wipe': 'POST',
  '/logs': 'GET',
};

/** A peer address on loopback (127.0.0.0/8, ::1, or 127/8 mapped into IPv6). */
const isLoopback = (address: string): boolean => /^(::ffff:)?127\.\d+\.\d+\.\d+$|^::1$/i.test(address);

function send(res: ServerResponse, status: number, text = ''): void {
  const body = Buffer.from(text);
  // nosniff: log lines are function output, never to be rendered as a page at the API's own origin
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** The endpoint list of a function: one line per enabled listener, empty host. */
export function endpointLines(endpoints: Record<string, string>, name: string): string {
  let out = '';
  for (const scheme of ['http', 'coap', 'grpc']) {
    const url = endpoints[scheme];
    if (url === undefined) continue;
    out += `${scheme}://:${new URL(url).port}/${name}\n`;
  }
  return out;
}

/**
 * The tinyFaaS management API (`/upload`, `/uploadURL`, `/delete`, `/list`, `/wipe`, `/logs`) on the
 * control port. tinyFaaS has no auth; here every call needs the admin token, unless the operator
 * chose upstream's trust model (`trustLoopback`: no token needed from loopback). Loopback alone is no
 * credential: any local user, any function with network and any web page in a local browser reach it.
 * The control app's request guard has already refused web pages (foreign Origin or Host).
 */
export function createTinyFaasManagement(deps: TinyFaasManagementDeps): RawHandler {
  const checkToken = createTokenCheck(deps.token);
  const admit = (req: IncomingMessage): void => {
    if (req.headers.authorization !== undefined) return checkToken(req.headers.authorization);
    if (deps.trustLoopback && isLoopback(req.socket.remoteAddress ?? '')) return;
    throw new SkiffError(
      'SKIFF_E_UNAUTHORIZED',
      'tinyFaaS management calls need `Authorization: Bearer <admin token>` (in <data-dir>/admin-token)' +
        (deps.trustLoopback
          ? ' from other hosts'
          : '; loopback is trusted only with compat.tinyfaas.trustLoopback'),
    );
  };
  const { registry, deployer, logs } = deps;

  const parseJson = async (req: IncomingMessage): Promise<Record<string, unknown> | undefined> => {
    const raw = await readBody(req, Math.ceil((deps.maxUploadBytes * 4) / 3) + 64 * 1024);
    try {
      const value: unknown = JSON.parse(raw.toString('utf8'));
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
      return value as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };

  const upload = async (body: Record<string, unknown>, archive: Buffer): Promise<string> => {
    const request = deployRequest(body, archive, deps.maxInstances);
    await deployer.deploy(request);
    return endpointLines(deps.endpoints(), request.name);
  };

  const logLines = async (name: string): Promise<string> => {
    const entries = await logs.tail(name, 1000);
    return entries
      .flatMap((e) =>
        e.message
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => `function=${name} handler=v${e.version ?? 0} ${e.ts} ${line}\n`),
      )
      .join('');
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const method = ROUTES[url.pathname];
    if (method === undefined) return false;
    try {
      admit(req);
    } catch (err) {
      sendError(res, toSkiffError(err));
      return true;
    }
    if (req.method !== method) {
      req.resume();
      send(res, 400);
      return true;
    }
    try {
      let body: Record<string, unknown> = {};
      if (method === 'POST' && url.pathname !== '/wipe') {
        const parsed = await parseJson(req);
        if (parsed === undefined) {
          send(res, 400);
          return true;
        }
        body = parsed;
      } else req.resume();
      switch (url.pathname) {
        case '/upload':
          send(res, 200, await upload(body, decodeZip(body['zip'])));
          break;
        case '/uploadURL': {
          const folder = subfolder(body['subfolder_path']);
          tinyName(body['name']);
          const zip = await download(body['url'], deps.maxUploadBytes, deps.outbound, deps.logger);
          send(res, 200, await upload(body, await selectFolder(zip, folder, deps.maxUploadBytes)));
          break;
        }
        case '/delete': {
          const name = tinyName(body['name']);
          if (!(await deployer.remove(name))) throw fail(`no function named ${name}`);
          send(res, 200);
          break;
        }
        case '/list':
          send(
            res,
            200,
            registry
              .listFunctions()
              .map((fn) => `${fn.name}\n`)
              .join(''),
          );
          break;
        case '/wipe':
          for (const fn of registry.listFunctions()) await deployer.remove(fn.name);
          send(res, 200);
          break;
        case '/logs': {
          const only = url.searchParams.get('name');
          if (only !== null && registry.getFunction(only) === undefined) {
            throw fail(`no function named ${only}`);
          }
          const names = only === null ? registry.listFunctions().map((fn) => fn.name) : [only];
          send(res, 200, (await Promise.all(names.map(logLines))).join(''));
          break;
        }
      }
    } catch (err) {
      const error = toSkiffError(err);
      if (!error.isUserError)
        deps.logger.error({ err, path: url.pathname }, 'tinyFaaS management call failed');
      // a refused download address is Skiff's policy, not a tinyFaaS failure: its own status and code
      if (error.code === 'SKIFF_E_FORBIDDEN_DESTINATION') {
        if (!res.headersSent) sendError(res, error);
        return true;
      }
      if (!res.headersSent) send(res, 500, `${error.message.split('\n')[0] ?? ''}\n`);
    }
    return true;
  };
}
