import type { AddressInfo } from 'node:net';

/**
 * The URL a local client uses for a listener: a wildcard bind address (0.0.0.0, ::) is reached on
 * loopback, and an IPv6 host is bracketed. Used for `endpoints.json` and the start-up lines.
 */
export function localUrl(scheme: string, address: Pick<AddressInfo, 'address' | 'port'>): string {
  const host =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
