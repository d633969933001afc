import type { AddressInfo } from 'node:net';

/**
 * The URL a local client uses for a listener: a wildcard bind address (0.0.0.0, or `::`, which listens
 * dual-stack) is reached on 127.0.0.1, `localhost` (127.0.0.1 and ::1) too, and an IPv6 host is
 * bracketed. Used for `endpoints.json` and the start-up lines.
 */
export function localUrl(scheme: string, address: Pick<AddressInfo, 'address' | 'port'>): string {
  const host =
    address.address === '0.0.0.0' || address.address === '::' || address.address === 'localhost'
      ? '127.0.0.1'
      : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
