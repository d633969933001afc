import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fitConnectionCaps, parseFdLimit } from './fd-limit.js';
import { bindHosts, clientKey, ConnectionGuard, listenAll } from './listeners.js';
import { createLogger } from './logger.js';

describe('clientKey', () => {
  it('counts IPv4 by address, also when it arrives IPv4-mapped on a dual-stack socket', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts IPv6 by /64, so one host cannot spread over its whole prefix', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('::1');
    expect(clientKey(undefined)).toBe('?');
  });
});

describe('bindHosts', () => {
  it('binds localhost on both loopbacks, :: dual-stack or 0.0.0.0 without IPv6, others as given', () => {
    expect(bindHosts('localhost', true)).toEqual(['127.0.0.1', '::1']);
    expect(bindHosts('localhost', false)).toEqual(['127.0.0.1']);
    expect(bindHosts('::', true)).toEqual(['::']);
    expect(bindHosts('::', false)).toEqual(['0.0.0.0']);
    expect(bindHosts('10.1.2.3', true)).toEqual(['10.1.2.3']);
  });
});

describe('fd budget', () => {
  it('reads the open-file limit of /proc/<pid>/limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(parseFdLimit(text)).toEqual({ soft: 1024, hard: 524288 });
    expect(parseFdLimit('Max open files unlimited unlimited files')).toEqual({
      soft: Infinity,
      hard: Infinity,
    });
    expect(parseFdLimit('nothing here')).toBeUndefined();
  });

  it('keeps caps that fit, lowers them in proportion when not, refuses when nothing fits', () => {
    const caps = { http: 8192, control: 256, grpc: 1024, mqtt: 1024 };
    expect(fitConnectionCaps(caps, 20_000, 1024)).toEqual({ caps, lowered: false });
    const { caps: fitted, lowered } = fitConnectionCaps(caps, 4096, 1024);
    expect(lowered).toBe(true);
    const sum = Object.values(fitted).reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(4096 - 1024);
    expect(fitted.http).toBeGreaterThan(fitted.control);
    expect(() => fitConnectionCaps(caps, 1024, 1024)).toThrow(/open-file limit/);
  });
});

describe('ConnectionGuard', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  it('destroys connections over its caps at accept, and counts one guard over several servers', async () => {
    const guard = new ConnectionGuard(
      'test',
      { maxConnections: 4, maxPerAddress: 3, idleTimeoutMs: 60_000, bodyIdleTimeoutMs: 0 },
      createLogger('silent'),
    );
    const make = () => {
      const server = createServer((socket) => socket.resume());
      guard.attach(server);
      return server;
    };
    const { servers, address } = await listenAll(make, 'localhost', 0);
    cleanup.push(() => servers.forEach((s) => s.close()));
    cleanup.push(() => guard.close());
    const open = (localAddress: string, host = '127.0.0.1'): Promise<Socket> =>
      new Promise((resolve) => {
        const socket = connect({ port: address.port, host, localAddress });
        socket.on('error', () => undefined);
        socket.once('connect', () => resolve(socket));
        cleanup.push(() => socket.destroy());
      });
    const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));
    const a = await Promise.all([open('127.0.0.1'), open('127.0.0.1'), open('127.0.0.1')]);
    const fourth = await open('127.0.0.1'); // over the per-address cap
    await closed(fourth);
    expect(guard.size).toBe(3);
    await open('::1', '::1'); // the other server of the same listener
    const overListener = await open('127.0.0.3'); // 4 open over both servers: over the listener cap
    await closed(overListener);
    expect([guard.size, guard.refused]).toEqual([4, 2]);
    a[0]?.destroy();
    await closed(a[0] as Socket);
    await expect.poll(() => guard.size).toBe(3);
  });

  it('with evictUnproven: a new connection pushes out the oldest unproven one; refused when all are proven', async () => {
    const guard = new ConnectionGuard(
      'test',
      {
        maxConnections: 3,
        maxPerAddress: 2,
        idleTimeoutMs: 60_000,
        bodyIdleTimeoutMs: 0,
        evictUnproven: true,
      },
      createLogger('silent'),
    );
    const accepted: Socket[] = [];
    const server = createServer((socket) => {
      accepted.push(socket);
      socket.resume();
    });
    guard.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    cleanup.push(() => guard.close());
    const port = (server.address() as { port: number }).port;
    const open = (localAddress: string): Promise<Socket> =>
      new Promise((resolve) => {
        const socket = connect({ port, host: '127.0.0.1', localAddress });
        socket.on('error', () => undefined);
        socket.once('connect', () => resolve(socket));
        cleanup.push(() => socket.destroy());
      });
    const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));
    const admitted = async (n: number) => expect.poll(() => accepted.length).toBe(n);

    const a1 = await open('127.0.0.1');
    await admitted(1);
    guard.prove(accepted[0] as Socket); // a1 proved the token
    const a2 = await open('127.0.0.1');
    await admitted(2);
    // per address: the oldest unproven of that address (a2) goes, never the proven a1
    const a3 = await open('127.0.0.1');
    await closed(a2);
    await admitted(3);
    expect(a1.destroyed).toBe(false);
    const b1 = await open('127.0.0.2');
    await admitted(4);
    expect(guard.size).toBe(3);
    // the listener is full: the oldest unproven over all (a3) goes
    const c1 = await open('127.0.0.3');
    await closed(a3);
    expect([guard.size, guard.evicted, guard.refused]).toEqual([3, 2, 0]);
    // every connection proven: a new one is refused
    for (const s of accepted.filter((s) => !s.destroyed)) guard.prove(s);
    const d1 = await open('127.0.0.4');
    await closed(d1);
    expect([guard.size, guard.refused]).toEqual([3, 1]);
    expect([a1.destroyed, b1.destroyed, c1.destroyed]).toEqual([false, false, false]);
  });
});
