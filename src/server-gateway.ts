/**
 * What the function port asks per request beyond the route (server.ts): a function's CORS (made once
 * per version with its deployment, model/cors.ts) and the function a Host routes to (skiff.json
 * `routes`, model/host-routes.ts), the host table built from the live functions at the first request
 * and again after a change. A function without `cors` costs a cached lookup; without any `routes` on
 * the platform, a request costs no header read.
 */
import { hostClaims, type HostClaims } from './control/deploy/host-claims.js';
import type { Router } from './invoke/router.js';
import type { CorsPolicy } from './model/cors.js';
import type { Deployment } from './model/deployment.js';
import { HostTable, hostKey, rawHost } from './model/host-routes.js';
import type { LiveFunctions } from './server-functions.js';
import type { Registry } from './store/registry.js';
import type { AsyncQueue } from './invoke/async-queue.js';
import { acceptCallbackUrl } from './invoke/callback-url.js';
import type { PrivateAccess } from './invoke/private-access.js';
import type { Config } from './shared/config.js';
import type { Logger } from './shared/logger.js';
import type { HttpTriggerDeps } from './triggers/http.js';

/** The live deployment of a function of the registry, or undefined (none, or a name a dialect serves). */
export function liveDeployment(router: Router, name: string): Deployment | undefined {
  if (router.externals.has(name)) return undefined;
  try {
    return router.resolve(name);
  } catch {
    return undefined;
  }
}

export interface GatewayRouting {
  cors(name: string): CorsPolicy | undefined;
  hosts(rawHeaders: readonly string[]): string | undefined;
  /** A function's live version changed or it was deleted: the host table is built again. */
  changed(): void;
  /** The deploys' check that a host is free (`reserved`: the gateway's own names). */
  claims: HostClaims;
}

export function gatewayRouting(
  router: Router,
  live: LiveFunctions,
  registry: Pick<Registry, 'liveVersions'>,
  reserved: readonly string[],
): GatewayRouting {
  let table: HostTable | undefined;
  // the platform's own names route by function name, even under a function's wildcard
  const own = new Set(reserved.map((host) => hostKey(host)).filter((key) => key !== undefined));
  return {
    // a name a dialect serves has no skiff.json; an unknown one is refused further on
    cors: (name) => liveDeployment(router, name)?.cors,
    hosts(rawHeaders) {
      table ??= new HostTable(
        live.all().map((fn) => ({ name: fn.name, routes: fn.spec.routes })),
        own,
      );
      return table.empty ? undefined : table.route(rawHost(rawHeaders));
    },
    changed() {
      table = undefined;
    },
    claims: hostClaims(registry, reserved),
  };
}

/** What the function port's HTTP trigger is given: the router, access, CORS and the async queue. */
export function gatewayTriggerDeps(d: {
  config: Config;
  router: Router;
  privateAccess: PrivateAccess;
  routing: GatewayRouting;
  asyncQueue: AsyncQueue;
  flavorRules: NonNullable<HttpTriggerDeps['flavorRules']>;
  logger: Logger;
  /** The control API's base URL, known once it listens (the 202's Location points there). */
  controlBase: () => string;
}): HttpTriggerDeps {
  const { config, router, asyncQueue } = d;
  return {
    invoke: (inv) => router.invoke(inv),
    flavorRules: d.flavorRules,
    maxBodyBytes: config.http.maxBodyBytes,
    maxInFlightPerAddress: config.http.maxInFlightPerAddress,
    authorize: (name, trigger, headers) => d.privateAccess.admit(name, trigger, headers),
    cors: (name) => d.routing.cors(name),
    logger: d.logger,
    async: {
      check: (name) => void router.access(name),
      accept: (inv, callbackUrl) => asyncQueue.accept({ ...inv, callbackUrl }),
      location: (id) => `${d.controlBase()}/v1/invocations/${id}`,
      checkCallback: (raw) => acceptCallbackUrl(raw, config.outbound),
      maxBodyBytes: config.async.maxBodyBytes,
    },
  };
}
