import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import { createRequestGuard, parseHost } from './request-guard.js';

/** The parts of a request the guard reads: its headers and the socket's local end. */
function req(headers: Record<string, string>, localAddress = '127.0.0.1', localPort = 8080): IncomingMessage {
  return { headers, socket: { localAddress, localPort } } as unknown as IncomingMessage;
}

function refused(run: () => void): boolean {
  try {
    run();
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('SKIFF_E_FORBIDDEN');
    return true;
  }
}

describe('parseHost', () => {
  it('splits names, IPv4 and bracketed IPv6 with and without a port', () => {
    expect(parseHost('LocalHost:8080')).toEqual({ hostname: 'localhost', port: '8080' });
    expect(parseHost('127.0.0.1')).toEqual({ hostname: '127.0.0.1', port: '' });
    expect(parseHost('[::1]:80')).toEqual({ hostname: '::1', port: '80' });
    expect(parseHost('[::ffff:127.0.0.1]:80')).toEqual({ hostname: '127.0.0.1', port: '80' });
  });
  it.each(['', 'a b', 'evil.example:80:80', '[nothex]:80', 'user@host', 'host/path', 'h:99999999'])(
    'refuses %j',
    (value) => expect(parseHost(value)).toBeUndefined(),
  );
});

describe('createRequestGuard', () => {
  const guard = createRequestGuard({ listenHost: '127.0.0.1', allowedHosts: ['api.example.com'] });

  it.each([
    {},
    { host: '127.0.0.1:8080' },
    { host: 'localhost:8080' },
    { host: '[::1]:8080' },
    { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' },
    { host: 'api.example.com', origin: 'https://api.example.com' },
    { host: 'api.example.com:443' },
  ])('lets %j in', (headers) => {
    expect(refused(() => guard(req(headers)))).toBe(false);
  });

  it.each([
    { host: 'evil.example:8080' },
    { host: 'evil.example' },
    { host: 'localhost.:8080' },
    { host: '127.0.0.1:8081' },
    { host: 'localhost' },
    { host: '10.0.0.5:8080' },
    { host: 'a b' },
    { host: '127.0.0.1:8080', origin: 'http://evil.example' },
    { host: '127.0.0.1:8080', origin: 'null' },
    { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8000' },
    { host: '127.0.0.1:8080', origin: 'http://localhost:8080' },
    { origin: 'http://127.0.0.1:8080' },
    { host: 'api.example.com', origin: 'https://evil.example' },
  ])('refuses %j', (headers) => {
    expect(refused(() => guard(req(headers)))).toBe(true);
  });

  it('accepts the address a connection arrived on when listening on every interface', () => {
    const wild = createRequestGuard({ listenHost: '0.0.0.0', allowedHosts: [] });
    expect(refused(() => wild(req({ host: '192.0.2.7:8080' }, '192.0.2.7')))).toBe(false);
    expect(refused(() => wild(req({ host: '192.0.2.7:8080' }, '::ffff:192.0.2.7')))).toBe(false);
    expect(refused(() => wild(req({ host: '192.0.2.8:8080' }, '192.0.2.7')))).toBe(true);
    expect(refused(() => wild(req({ host: 'myhost:8080' }, '192.0.2.7')))).toBe(true);
  });

  it('accepts a Host without a port on port 80 only', () => {
    expect(refused(() => guard(req({ host: 'localhost' }, '127.0.0.1', 80)))).toBe(false);
  });
});
