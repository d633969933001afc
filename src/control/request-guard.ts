/**
 * The control port's defence against web pages. A browser on this machine can send requests to
 * 127.0.0.1 from any site (a cross-site form POST needs no CORS), and a page whose own name is made
 * to resolve to 127.0.0.1 (DNS rebinding) can even read the answers. Both show in the headers the
 * browser sets and the page cannot forge: `Origin` names the page's site, `Host` the name the page
 * used. So a request is refused (403 `SKIFF_E_FORBIDDEN`) when its `Origin` is present and is not the
 * API's own origin, or its `Host` is not an address or name the control API is reached by. curl, the
 * CLI and other programs send no foreign `Origin` and the listener's own `Host`, and pass.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { SkiffError } from '../shared/errors.js';

export interface HostPolicy {
  /** The address the control API listens on (`control.host`). */
  listenHost: string;
  /** Further names it is reached by (`control.allowedHosts`), with any port. */
  allowedHosts: readonly string[];
}

/** Throws `SKIFF_E_FORBIDDEN` for a request a web page could have made; returns for the rest. */
export type RequestGuard = (req: IncomingMessage) => void;

/** Lower case, no brackets, no IPv6 zone, an IPv4-mapped IPv6 address as IPv4. */
function normalise(host: string): string {
  const bare = host
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped?.[1] ?? bare;
}

/** Splits a `Host` value into name and port (`''` when absent); undefined when it is not host[:port]. */
export function parseHost(value: string): { hostname: string; port: string } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  if (m?.[1] === undefined) return undefined;
  const hostname = normalise(m[1]);
  if (m[1].startsWith('[') && isIP(hostname) === 0) return undefined;
  return { hostname, port: m[2] ?? '' };
}

const forbidden = (message: string): SkiffError =>
  new SkiffError(
    'SKIFF_E_FORBIDDEN',
    `${message}; the control API answers only requests made to the address it listens on, without a foreign Origin`,
  );

/** `http://<host>` or `https://<host>` of the request's own `Host`, as URL origins. */
function ownOrigins(host: string): Set<string> {
  const out = new Set<string>();
  for (const scheme of ['http', 'https']) {
    try {
      out.add(new URL(`${scheme}://${host}`).origin);
    } catch {
      // a Host that is no URL authority has no origin
    }
  }
  return out;
}

/** The guard of one control listener (the port is read from each connection). */
export function createRequestGuard(policy: HostPolicy): RequestGuard {
  const local = new Set(['localhost', '127.0.0.1', '::1', normalise(policy.listenHost)]);
  const named = new Set(policy.allowedHosts.map(normalise));
  return (req) => {
    const host = req.headers.host;
    // HTTP/1.0 without Host: no browser sends that; the Origin rule below still applies
    if (host !== undefined) {
      const parsed = parseHost(host);
      if (parsed === undefined) throw forbidden(`Host ${JSON.stringify(host.slice(0, 100))} is malformed`);
      if (!named.has(parsed.hostname)) {
        const arrivedOn = normalise(req.socket.localAddress ?? '');
        if (!local.has(parsed.hostname) && parsed.hostname !== arrivedOn) {
          throw forbidden(`Host ${parsed.hostname} is not an address this API listens on`);
        }
        const port = String(req.socket.localPort ?? '');
        if (parsed.port !== port && !(parsed.port === '' && port === '80')) {
          throw forbidden(`Host port ${parsed.port || '(none)'} is not the port this API listens on`);
        }
      }
    }
    const origin = req.headers.origin;
    if (origin === undefined) return;
    let given: string;
    try {
      given = new URL(origin).origin;
    } catch {
      given = 'null';
    }
    if (host === undefined || given === 'null' || !ownOrigins(host).has(given)) {
      throw forbidden(`requests from the web page ${JSON.stringify(origin.slice(0, 100))} are refused`);
    }
  };
}
