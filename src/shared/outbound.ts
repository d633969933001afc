/**
 * Requests the platform itself makes to addresses a stranger chose (async callbacks, archive downloads,
 * build proxies): no request may reach loopback, link-local, private or the platform's own addresses
 * unless the operator allowed it, no redirect is followed, and size and time are capped. The address is
 * checked on the URL, and again on every address DNS gives for the name (the connection goes to the
 * address that was checked), so a name that resolves to 127.0.0.1 is refused like the literal.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import os from 'node:os';
import { SkiffError } from './errors.js';

/** Address ranges no stranger-chosen destination may reach, each with the reason given back. */
const RANGES: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified address'],
  ['10.0.0.0', 8, 'ipv4', 'a private address'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback address'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local address'],
  ['172.16.0.0', 12, 'ipv4', 'a private address'],
  ['192.0.0.0', 24, 'ipv4', 'a protocol-assignment address'],
  ['192.168.0.0', 16, 'ipv4', 'a private address'],
  ['198.18.0.0', 15, 'ipv4', 'a benchmarking address'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['::', 128, 'ipv6', 'an unspecified address'],
  ['::1', 128, 'ipv6', 'a loopback address'],
  // IPv6 forms that carry an IPv4 address, however they are written (0:0:0:0:0:ffff:7f00:1 too):
  // a legitimate destination is given as the IPv4 address itself
  ['::ffff:0:0', 96, 'ipv6', 'an IPv4-mapped IPv6 address'],
  ['::', 96, 'ipv6', 'an IPv4-compatible IPv6 address'],
  ['::ffff:0:0:0', 96, 'ipv6', 'an IPv4-translated IPv6 address'],
  ['64:ff9b::', 96, 'ipv6', 'a NAT64 address'],
  ['64:ff9b:1::', 48, 'ipv6', 'a NAT64 address'],
  ['2002::', 16, 'ipv6', 'a 6to4 address'],
  ['2001::', 32, 'ipv6', 'a Teredo address'],
  ['100::', 64, 'ipv6', 'a discard address'],
  ['fc00::', 7, 'ipv6', 'a private (unique local) address'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fec0::', 10, 'ipv6', 'a site-local address'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
];

const lists = RANGES.map(([net, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, family, reason };
});

/** An IPv6 address that carries an IPv4 one (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d), as IPv4. */
function embeddedIpv4(address: string): string | undefined {
  const m = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m?.[1] !== undefined) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] === undefined || hex[2] === undefined) return undefined;
  const hi = parseInt(hex[1], 16);
  const lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The addresses of this machine's own interfaces (a public one still reaches the platform's ports). */
function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const entry of list ?? []) own.add(entry.address.toLowerCase().replace(/%.*$/, ''));
  }
  return own;
}

/**
 * Why a stranger-chosen destination may not be reached at `address` (an IP literal), or undefined
 * when it may. A string that is not an IP address is refused.
 */
export function forbiddenAddress(address: string): string | undefined {
  const bare = address
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase();
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  const v4 = family === 6 ? embeddedIpv4(bare) : bare;
  if (v4 !== undefined && family === 6) return forbiddenAddress(v4);
  const kind = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, family: f, reason } of lists) {
    if (f === kind && list.check(bare, kind)) return reason;
  }
  if (ownAddresses().has(bare)) return "one of this machine's own addresses";
  return undefined;
}

export interface OutboundPolicy {
  /** Allow loopback, private, link-local and the machine's own addresses (operator's choice). */
  allowPrivate: boolean;
}

function refuse(what: string, message: string): SkiffError {
  return new SkiffError('SKIFF_E_FORBIDDEN_DESTINATION', `${what}: ${message}`);
}

/**
 * Checks a destination URL when it is accepted (before anything is stored): http(s) only, no
 * credentials in it, and no IP literal or `localhost` name the policy forbids. Names are checked
 * again when the request is made, on the addresses DNS gives.
 */
export function checkDestination(raw: string, what: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(what, `${JSON.stringify(raw.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse(what, `only http and https URLs are allowed, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') throw refuse(what, 'the URL must not hold credentials');
  if (policy.allowPrivate) return url;
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (isIP(host) !== 0) {
    const why = forbiddenAddress(host);
    if (why !== undefined) throw refuse(what, `${host} is ${why}`);
  } else if (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
    throw refuse(what, `${host} names this machine or the local network`);
  }
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for net/http that fails when a name resolves to any address the policy forbids. */
export function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, []);
      const list = addresses;
      if (!policy.allowPrivate) {
        for (const a of list) {
          const why = forbiddenAddress(a.address);
          if (why !== undefined) {
            const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${a.address}, ${why}`);
            e.code = 'EFORBIDDEN';
            return callback(e, []);
          }
        }
      }
      if (options.all === true) return callback(null, list);
      const first = list[0];
      if (first === undefined) return callback(new Error(`${hostname} has no address`), []);
      return callback(null, first.address, first.family);
    });
  };
}

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** The whole exchange, connect to last byte. */
  timeoutMs: number;
  /** The response body is cut off (and the request fails) past this many bytes. */
  maxResponseBytes: number;
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request to a stranger-chosen URL under the policy: the address checks above, no redirect
 * followed (a 3xx is returned as it is), the response capped in size and the whole call in time.
 */
export async function outboundRequest(
  raw: string,
  what: string,
  policy: OutboundPolicy,
  req: OutboundRequest,
): Promise<OutboundResponse> {
  const url = checkDestination(raw, what, policy);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, value?: OutboundResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (err === undefined && value !== undefined) resolve(value);
      else {
        request.destroy();
        const e = err as NodeJS.ErrnoException;
        reject(e.code === 'EFORBIDDEN' ? refuse(what, e.message) : e);
      }
    };
    const request = client.request(url, {
      method: req.method,
      headers: req.headers,
      lookup: guardedLookup(policy) as unknown as typeof dnsLookup,
      agent: false,
    });
    const deadline = setTimeout(
      () => finish(new Error(`no answer within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    request.on('error', (err) => finish(err));
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxResponseBytes) {
          finish(new Error(`the answer is larger than ${req.maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks, size),
        }),
      );
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new Error('the connection was closed mid-answer')));
    });
    request.end(req.body);
  });
}
