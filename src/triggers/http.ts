import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NAME_PATTERN } from '../model/spec.js';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { readBody, sendError } from '../shared/http.js';
import { FailureLog } from '../shared/failure-log.js';
import { clientKey } from '../shared/listeners.js';
import { publishPlatformRefusal } from '../shared/probes.js';
import { responseBody } from './http-result.js';
import type { Logger } from '../shared/logger.js';
import type { HeaderPairs, Invocation, Result } from '../model/invocation.js';
import {
  selectRules,
  type GatewayRoute,
  type FlavorRules,
  type GatewayRules,
  type PrefixedRules,
} from './gateway-rules.js';
import { SKIFF_RULES } from './skiff-rules.js';
import type { CorsPolicy } from '../model/cors.js';
import { corsStep } from './http-cors.js';

/** Connection-level headers that are never passed through a proxy hop (RFC 9110 §7.6.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface AsyncAccept {
  /** Throws 404 for an unknown function: an async call to it never gets a 202 (G10). */
  check(name: string): void;
  /** Writes the invocation to disk and returns its id. */
  accept(inv: Omit<Invocation, 'id' | 'trigger' | 'deadline'>, callbackUrl: string | null): string;
  /** Where its status is: the control API's `/v1/invocations/<id>`. */
  location(id: string): string;
  /**
   * Checks an `X-Callback-Url` before anything is queued and returns the URL to store; throws
   * `SKIFF_E_FORBIDDEN_DESTINATION` for one the platform may not post to (invoke/callback-url.ts).
   */
  checkCallback(raw: string): Promise<string>;
  maxBodyBytes: number;
}

export interface HttpTriggerDeps {
  invoke: (inv: Invocation) => Promise<Result>;
  maxBodyBytes: number;
  logger: Logger;
  async?: AsyncAccept;
  /** How clients call functions on this listener (gateway-rules.ts); Skiff's own by default. */
  rules?: GatewayRules;
  /** Other rules under path prefixes of this listener (a compatibility API beside Skiff's). */
  prefixed?: readonly PrefixedRules[];
  /** The rules of a function's flavor, when it has some (they win over the listener's). */
  flavorRules?: FlavorRules;
  /**
   * Requests one client (an IPv4 address or an IPv6 /64) may have in progress at once; one more gets
   * 429 with Retry-After, so that one client cannot take every instance (`http.maxInFlightPerAddress`).
   */
  maxInFlightPerAddress?: number;
  /**
   * Throws when the request may not invoke the function (a private function without a valid token:
   * src/invoke/private-access.ts), else gives the headers the function sees (a private one's without
   * the token); called before the body is read, for sync and async calls alike.
   */
  authorize?: (name: string, trigger: 'http', headers: HeaderPairs) => HeaderPairs | Promise<HeaderPairs>;
  /** The live version's CORS (skiff.json `cors`, made once per version), or undefined: none. */
  cors?: (name: string) => CorsPolicy | undefined;
  /**
   * The function a request's Host routes to at the root of this listener (skiff.json `routes`), from
   * its raw headers, or undefined: routed by name. Not asked under a prefix of `prefixed`.
   */
  hosts?: (rawHeaders: readonly string[]) => string | undefined;
}

/** What a client over `maxInFlightPerAddress` is told to wait. */
const IN_FLIGHT_RETRY_AFTER_SEC = 1;

/** The `X-Callback-Url` of an async call, checked by the policy before the call is accepted. */
async function callbackUrl(req: IncomingMessage, accept: AsyncAccept): Promise<string | null> {
  const raw = req.headers['x-callback-url'];
  if (typeof raw !== 'string' || raw === '') return null;
  return accept.checkCallback(raw);
}

/** What the gateway reads of a request's head, in one walk of its raw headers (no headers object). */
interface RequestHead {
  /** The headers the function may see: lower-cased, in order, without the hop-by-hop ones. */
  pairs: HeaderPairs;
  /** The first Host (node:http keeps the first too). */
  host: string | undefined;
  /**
   * Whether it has a body to read: one with neither Content-Length nor Transfer-Encoding has none
   * (RFC 9112 §6.3), and is answered without waiting for its end (node:http discards the rest of a
   * request not read once its response is sent).
   */
  hasBody: boolean;
}

function requestHead(raw: string[]): RequestHead {
  const pairs: HeaderPairs = [];
  let host: string | undefined;
  let hasBody = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (key === 'host') host ??= value;
    else if (key === 'content-length' || key === 'transfer-encoding') hasBody = true;
    if (!HOP_BY_HOP.has(key)) pairs.push([key, value]);
  }
  return { pairs, host, hasBody };
}

const NO_BODY = Buffer.alloc(0);

/** The Host the function sees in its URL; anything that is not a plain host[:port] becomes localhost. */
export function safeHost(host: string | undefined): string {
  return host !== undefined && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host)
    ? host
    : 'localhost';
}

/** Names the gateway sets itself: the function's own are dropped (HOP_BY_HOP, Content-Length, Date, the id). */
const NOT_FROM_FUNCTION = new Set([...HOP_BY_HOP, 'content-length', 'date', 'x-skiff-invocation-id']);

/** Bodies up to this size are joined to the response head (one string, one write). */
const ONE_WRITE_MAX_BYTES = 4096;

/**
 * Sends a result: its headers (lower-cased, in their order, repeats kept) go to `writeHead` as one flat
 * name/value array, which node:http checks and writes as they are (no headers object is built).
 */
function writeResult(res: ServerResponse, result: Result, invocationId: string, cors?: string[]): void {
  const flat: string[] = [];
  for (const [key, value] of result.headers) {
    const name = key.toLowerCase();
    if (NOT_FROM_FUNCTION.has(name)) continue;
    // with skiff.json `cors`, the gateway's CORS headers are the only ones (http-cors.ts)
    if (cors !== undefined && name.startsWith('access-control-')) continue;
    flat.push(name, value);
  }
  if (cors !== undefined) flat.push(...cors);
  flat.push('x-skiff-invocation-id', invocationId);
  const body = responseBody(result);
  if (body !== undefined) flat.push('content-length', String(body.length));
  try {
    res.writeHead(result.status, flat);
  } catch (err) {
    // writeHead set the status line and maybe some headers before it refused one: the error reply
    // that follows starts from nothing (else its status line keeps this one's reason, `502 OK`)
    res.statusMessage = '';
    for (const header of res.getHeaderNames()) res.removeHeader(header);
    throw new SkiffError(
      'SKIFF_E_BAD_RESPONSE',
      `the function returned an invalid status or header: ${(err as Error).message}`,
    );
  }
  if (body === undefined || body.length > ONE_WRITE_MAX_BYTES) {
    res.end(body);
    return;
  }
  // a small body goes as a latin1 string (byte for byte the same): node:http joins it to the head,
  // and uncorking sends the two in one write; end(body) would queue an empty chunk behind them (one
  // writev). Should the socket not take it at once, end() still queues its chunk: correct, slower.
  res.write(body.toString('latin1'), 'latin1');
  res.socket?.uncork();
  res.end();
}

/** A request routed by its Host (skiff.json `routes`): the function sees the whole path and the query. */
function rootRoute(name: string, url: string): GatewayRoute {
  const q = url.indexOf('?');
  return { name, path: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1) };
}

/** Sets flat name/value pairs on a response not yet written (an async 202, an error). */
function setPairs(res: ServerResponse, pairs: readonly string[]): void {
  for (let i = 0; i + 1 < pairs.length; i += 2) res.setHeader(pairs[i] as string, pairs[i + 1] as string);
}

/**
 * The HTTP gateway: `/{name}` and `/{name}/{rest...}` (Skiff's rules, or those given) invoke the function
 * with the method, the path below the name, the query, the headers and the body; the function's status,
 * headers and body come back.
 */
export function createHttpTrigger(deps: HttpTriggerDeps) {
  const portRules = deps.rules ?? SKIFF_RULES;
  const prefixed = deps.prefixed ?? [];
  const failures = new FailureLog(deps.logger);
  const inFlight = new Map<string, number>();
  const maxInFlight = deps.maxInFlightPerAddress ?? Infinity;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = randomUUID();
    const requested = req.url ?? '/';
    let url = requested;
    let rules = portRules;
    if (prefixed.length > 0) ({ url, rules } = selectRules(url, portRules, prefixed));
    // the client's slot is held until its response is closed AND the work it started has ended: an
    // invocation runs on after its caller disconnected, and must keep counting against that caller
    let release: (() => void) | undefined;
    // the CORS headers of a function with skiff.json `cors`, for whatever answer it gets
    let cors: string[] | undefined;
    try {
      const client = clientKey(req.socket.remoteAddress);
      const mine = inFlight.get(client) ?? 0;
      if (mine >= maxInFlight) {
        publishPlatformRefusal('client_in_flight');
        throw new SkiffError(
          'SKIFF_E_TOO_MANY_REQUESTS',
          `this client has ${mine} requests in progress (http.maxInFlightPerAddress); retry later`,
          { retryAfterSec: IN_FLIGHT_RETRY_AFTER_SEC },
        );
      }
      inFlight.set(client, mine + 1);
      let holds = 2;
      release = () => {
        if (--holds > 0) return;
        const left = (inFlight.get(client) ?? 1) - 1;
        if (left <= 0) inFlight.delete(client);
        else inFlight.set(client, left);
      };
      // a response emits `close` once (after its `finish`, or when the connection ends first)
      res.on('close', release);
      // under a prefix (another API's rules, which strip it), or for a URL that is no path (`*`, an
      // absolute URL), the Host routes nothing
      const byHost = url === requested && url.startsWith('/') ? deps.hosts?.(req.rawHeaders) : undefined;
      const { name, path, query } = byHost === undefined ? rules.route(url) : rootRoute(byHost, url);
      if (!NAME_PATTERN.test(name)) {
        throw new SkiffError(
          'SKIFF_E_FUNCTION_NOT_FOUND',
          'call a function at /<name>; list them with `skiff fn list`',
        );
      }
      const policy = deps.cors?.(name);
      if (policy !== undefined) {
        const step = corsStep(policy, req.method, req.rawHeaders);
        if (step.answer === undefined) cors = step.headers;
        else {
          // a preflight: answered here, the function is not started
          req.resume();
          cors = step.answer.headers;
          if (step.answer.error !== undefined) throw step.answer.error;
          res.writeHead(step.answer.status, [...cors, 'x-skiff-invocation-id', id]);
          res.end();
          return;
        }
      }
      const asyncAccept = deps.async;
      const asyncReply = asyncAccept === undefined ? undefined : rules.asyncCall(req);
      // the function's flavor may bring its platform's rules: they answer from here on, refusals included
      rules = deps.flavorRules?.(name) ?? rules;
      const head = requestHead(req.rawHeaders);
      const received = head.pairs;
      // a private function's caller shows its token; the function never sees it
      const admitted = deps.authorize?.(name, 'http', received) ?? received;
      const headers = admitted instanceof Promise ? await admitted : admitted;
      const answered = rules.admit?.(req, { name, path, query });
      if (answered !== undefined) {
        req.resume();
        writeResult(res, rules.result(answered), id, cors);
        return;
      }
      const seenHeaders = (): HeaderPairs =>
        rules.requestHeaders === undefined ? headers : rules.requestHeaders(req, headers);
      if (asyncAccept !== undefined && asyncReply !== undefined) {
        asyncAccept.check(name);
        const callback = asyncReply.callbacks ? await callbackUrl(req, asyncAccept) : null;
        const body = await readBody(req, asyncAccept.maxBodyBytes);
        const accepted = asyncAccept.accept(
          {
            function: name,
            method: req.method ?? 'GET',
            path,
            query,
            headers: seenHeaders(),
            body,
            host: safeHost(head.host),
          },
          callback,
        );
        if (cors !== undefined) setPairs(res, cors);
        asyncReply.accepted(res, accepted, () => asyncAccept.location(accepted));
        return;
      }
      const body = head.hasBody ? await readBody(req, deps.maxBodyBytes) : NO_BODY;
      const inv: Invocation = {
        id,
        function: name,
        trigger: 'http',
        method: req.method ?? 'GET',
        path,
        query,
        headers: seenHeaders(),
        body,
        deadline: 0,
        host: safeHost(head.host),
      };
      const result = await deps.invoke(inv);
      writeResult(res, rules.result(result), id, cors);
    } catch (err) {
      const error = toSkiffError(err);
      failures.failed(error, err, { invocationId: id }, 'invocation failed');
      if (!res.headersSent) {
        res.setHeader('x-skiff-invocation-id', id);
        if (cors !== undefined) setPairs(res, cors);
      }
      if (!res.headersSent && rules.failure(res, error, cors !== undefined)) return;
      // Details (such as an instance's stderr) are for the function's owner, not for its callers.
      sendError(
        res,
        error.details === undefined
          ? error
          : new SkiffError(error.code, error.message, {
              ...(error.retryAfterSec === undefined ? {} : { retryAfterSec: error.retryAfterSec }),
            }),
      );
    } finally {
      release?.();
    }
  };
}
