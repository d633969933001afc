/**
 * Gateway rules: how one kind of client calls functions over the HTTP gateway (one processor per
 * foreign request shape, chosen by lookup; no branch on a platform in the gateway). Skiff's own rules
 * are in skiff-rules.ts; a compatibility folder brings its own, mounted on the whole function port, under
 * a path prefix, or on a listener of its own (server.ts). The gateway itself (http.ts) reads the body,
 * builds the Invocation, queues async calls, limits clients and writes the result.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderPairs, Result } from '../model/invocation.js';
import type { SkiffError } from '../shared/errors.js';

/** Where a gateway request goes: the function, and the path and query it sees. */
export interface GatewayRoute {
  name: string;
  path: string;
  query: string;
}

/** How an async call is accepted: whether it may name a callback, and the 202 its caller gets. */
export interface AsyncReply {
  /** Whether an `X-Callback-Url` is read (and checked) and stored with the call. */
  callbacks: boolean;
  /** Writes the 202 for the accepted invocation `id`; `location` is its status URL on the control API. */
  accepted(res: ServerResponse, id: string, location: () => string): void;
}

export interface GatewayRules {
  /** The function and what it sees of the URL (below a prefix, the URL without it). */
  route(url: string): GatewayRoute;
  /** The async reply when the request asks for an async call, else undefined (a sync call). */
  asyncCall(req: IncomingMessage): AsyncReply | undefined;
  /** The result as this kind of client gets it (before hop-by-hop headers are dropped). */
  result(result: Result): Result;
  /**
   * Writes the reply to a failure in this client's form and returns true, or returns false for Skiff's
   * JSON error (without details). Called only before anything was sent. `gatewayCors`: the function
   * has skiff.json `cors`, whose headers are already set on `res`: the reply adds no CORS header.
   */
  failure(res: ServerResponse, error: SkiffError, gatewayCors?: boolean): boolean;
  /**
   * A reply given without invoking the function (its platform answers such requests itself: a
   * `/favicon.ico`, a body announced too large), or undefined to go on. Called before the body is read.
   */
  admit?(req: IncomingMessage, route: GatewayRoute): Result | undefined;
  /** The request headers as the function sees them (its platform's proxy adds some). */
  requestHeaders?(req: IncomingMessage, headers: HeaderPairs): HeaderPairs;
}

/**
 * Rules a function's flavor brings to every gateway (its platform's HTTP rules), looked up by the
 * function once routed: they replace the listener's rules for that request, but for its routing
 * and its async form.
 */
export type FlavorRules = (functionName: string) => GatewayRules | undefined;

/** Rules under a path prefix of the function port (`/prefix` and `/prefix/...`). */
export interface PrefixedRules {
  prefix: string;
  rules: GatewayRules;
}

/**
 * The rules of a request and the URL they see: the first prefix the path is or lies under (without
 * the prefix), else the port's own rules with the whole URL.
 */
export function selectRules(
  url: string,
  rules: GatewayRules,
  prefixed: readonly PrefixedRules[],
): { rules: GatewayRules; url: string } {
  for (const entry of prefixed) {
    if (!url.startsWith(entry.prefix)) continue;
    const rest = url.slice(entry.prefix.length);
    if (rest === '') return { rules: entry.rules, url: '/' };
    if (rest.startsWith('/')) return { rules: entry.rules, url: rest };
    if (rest.startsWith('?')) return { rules: entry.rules, url: `/${rest}` };
  }
  return { rules, url };
}

/** A path prefix is `/` and one or more segments, without a trailing `/`, query or fragment. */
export const PREFIX_PATTERN = /^(\/[A-Za-z0-9._~-]+)+$/;
