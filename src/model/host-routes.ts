/**
 * Host-based routing (skiff.json `routes: [{ host }]`): a gateway request whose Host names a function's
 * host reaches that function at the gateway's root (`https://api.example.com/users` → the function,
 * path `/users`). A host is an exact DNS name or `*.` and a name (one more label, any one); matching
 * ignores case, the port and a trailing dot. An exact host wins over a wildcard. One host belongs to
 * one function (the deploy of a second is refused: deploy/host-claims.ts).
 */
import { z } from 'zod';

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
/** Two or more labels, the last not all digits (no IPv4 address). */
const NAME = new RegExp(`^(${LABEL}\\.)+[a-z0-9-]*[a-z-][a-z0-9-]*$`);

/** Hosts of one function at most. */
export const MAX_HOSTS_PER_FUNCTION = 16;

/** Why a host claim is refused, or undefined (`host` lower case). */
export function hostProblem(host: string): string | undefined {
  const name = host.startsWith('*.') ? host.slice(2) : host;
  const shown = JSON.stringify(host.slice(0, 100));
  if (host.length > 253 || !NAME.test(name)) {
    return `route host ${shown} is not a DNS name of two or more labels (such as "api.example.com" or "*.example.com"; no port, no IP address)`;
  }
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return `route host ${shown}: localhost names are the platform's own`;
  }
  return undefined;
}

export const hostRouteSchema = z
  .object({
    /** `api.example.com`, or `*.example.com` for every name one label below it. */
    host: z.string().min(1).max(300),
  })
  .strict()
  .superRefine((route, ctx) => {
    const problem = hostProblem(route.host.toLowerCase());
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: ['host'] });
  });

export const routesSchema = z
  .array(hostRouteSchema)
  .min(1)
  .max(MAX_HOSTS_PER_FUNCTION)
  .superRefine((routes, ctx) => {
    const seen = new Set<string>();
    for (const route of routes) {
      const host = route.host.toLowerCase();
      if (seen.has(host)) ctx.addIssue({ code: 'custom', message: `route host "${host}" is listed twice` });
      seen.add(host);
    }
  });

export type HostRoute = z.infer<typeof hostRouteSchema>;

/** The routes as stored with a version: host names in lower case. */
export function normalRoutes(routes: readonly HostRoute[]): HostRoute[] {
  return routes.map((route) => ({ host: route.host.toLowerCase() }));
}

/** Longest Host header value looked up (a DNS name and a port); a longer one matches nothing. */
const MAX_HOST_HEADER = 253 + 1 + 6;

/**
 * The name a Host header value is matched by: lower case, without its port and a trailing dot;
 * undefined for an IP literal in brackets or an over-long value.
 */
export function hostKey(header: string): string | undefined {
  if (header.length > MAX_HOST_HEADER || header.startsWith('[')) return undefined;
  const colon = header.indexOf(':');
  let name = (colon === -1 ? header : header.slice(0, colon)).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name;
}

/** The first Host of raw request headers (node:http keeps the first too). */
export function rawHost(raw: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === 4 && key.toLowerCase() === 'host') return raw[i + 1];
  }
  return undefined;
}

/** The host claims of the live functions: host (lower case, `*.` kept) → function. */
export class HostTable {
  private readonly exact = new Map<string, string>();
  /** `*.example.com` under `example.com`. */
  private readonly wildcard = new Map<string, string>();

  /** From functions in a stable order: a host claimed twice (not possible through deploys) stays the first's. */
  constructor(
    claims: Iterable<{ name: string; routes?: readonly HostRoute[] | undefined }>,
    /** The platform's own names (`hostKey` form): never routed by host, whatever a wildcard covers. */
    private readonly reserved: ReadonlySet<string> = new Set(),
  ) {
    for (const { name, routes } of claims) {
      for (const { host } of routes ?? []) {
        const [map, key] = host.startsWith('*.') ? [this.wildcard, host.slice(2)] : [this.exact, host];
        if (!map.has(key)) map.set(key, name);
      }
    }
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.wildcard.size === 0;
  }

  /** The function a request's Host header reaches, or undefined (then it is routed by name). */
  route(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const key = hostKey(header);
    if (key === undefined || this.reserved.has(key)) return undefined;
    const hit = this.exact.get(key);
    if (hit !== undefined || this.wildcard.size === 0) return hit;
    const dot = key.indexOf('.');
    return dot === -1 ? undefined : this.wildcard.get(key.slice(dot + 1));
  }

  /** The function holding exactly this claim (`api.example.com` or `*.example.com`), if any. */
  holder(host: string): string | undefined {
    return host.startsWith('*.') ? this.wildcard.get(host.slice(2)) : this.exact.get(host);
  }
}
