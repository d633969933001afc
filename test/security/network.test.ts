/**
 * Attacks through a function's network (`network: "outbound"`): reaching the platform's own ports and
 * other listeners on the host's loopback or its own address, reading the host's sockets in
 * /proc/net/tcp, and intercepting another tenant's http-runtime calls by listening first on the port
 * its bridge probes. Outbound traffic to the outside must keep working.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

interface Attempt {
  ok: boolean;
  code?: string;
  status?: number;
}

/** A listener of the test on loopback: stands for the MQTT broker, another function's server and so on. */
function listen(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end('secret\n'));
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

/** The machine's own non-loopback IPv4 addresses. */
function ownAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

describe('security: a function with network "outbound"', () => {
  let p: TestPlatform;
  const listeners: net.Server[] = [];

  const probe = async (query: string) =>
    (await (await p.call(`/net-probe?${query}`)).json()) as Attempt & Record<string, unknown>;

  beforeAll(async () => {
    p = await startPlatform();
    listeners.push(await listen('127.0.0.1'));
    if (os.networkInterfaces()['lo']?.some((a) => a.family === 'IPv6')) listeners.push(await listen('::1'));
    await p.deployAll({ 'net-probe': 'net-probe' });
  });
  afterAll(async () => {
    for (const server of listeners) await new Promise((resolve) => server.close(resolve));
    await p.stop();
  });

  /** Every port the platform and this test listen on, on loopback. */
  const platformPorts = (): number[] => {
    const ports = Object.values(p.server.endpoints)
      .map((url) => Number(/:(\d+)(\/|$)/.exec(String(url))?.[1]))
      .filter((port) => Number.isInteger(port) && port > 0);
    return [...new Set([...ports, ...listeners.map(portOf)])];
  };

  it('cannot connect to the control API, the gateway, the broker or other listeners on the host', async () => {
    const ports = platformPorts();
    expect(ports.length).toBeGreaterThanOrEqual(3);
    const hosts = ['127.0.0.1', '::1', '10.0.2.2', ...ownAddresses()];
    for (const host of hosts) {
      for (const port of ports) {
        const r = await probe(`do=connect&host=${encodeURIComponent(host)}&port=${port}`);
        expect(r, `${host}:${port}`).toMatchObject({ ok: false });
      }
    }
  });

  it('sees none of the host’s sockets in /proc/net/tcp', async () => {
    const { tcp, tcp6 } = (await probe('do=proc')) as unknown as { tcp: string; tcp6: string };
    for (const port of platformPorts()) {
      const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
      expect(tcp, `port ${port}`).not.toContain(hex);
      expect(tcp6, `port ${port}`).not.toContain(hex);
    }
  });

  it('still reaches the outside: DNS and a TCP connection to registry.npmjs.org:443', async () => {
    // (an HTTPS GET is not asserted: the machine's egress may re-sign TLS with a CA of its own)
    expect(await probe('do=connect&host=registry.npmjs.org&port=443')).toMatchObject({ ok: true });
  }, 30_000);
});

/** The slirp4netns processes this test process (its platform) started and that still run. */
function ownSlirps(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return stat.includes('(slirp4netns)') && state !== 'Z' && Number(ppid) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('security: the NAT process of an outbound instance', () => {
  it('runs only while its instance does', async () => {
    const p = await startPlatform();
    try {
      await p.deployAll({ 'net-probe': 'net-probe' });
      expect(await (await p.call('/net-probe?do=proc')).json()).toHaveProperty('tcp');
      expect(ownSlirps().length).toBeGreaterThanOrEqual(1);
    } finally {
      await p.stop();
    }
    await waitUntil('every slirp4netns to exit', () => ownSlirps().length === 0, 5_000).catch(
      () => undefined,
    );
    expect(ownSlirps()).toEqual([]);
  });
});

describe('security: an outbound function without slirp4netns', () => {
  it('does not start, rather than get the host’s network', async () => {
    const p = await startPlatform({ config: { sandbox: { slirp4netns: '/nonexistent/slirp4netns' } } });
    try {
      const res = await p.deploy('net-probe', fixture('net-probe'));
      const text = await res.text();
      expect(res.status, text).not.toBe(201);
      expect(text).toContain('slirp4netns');
      const call = await p.call('/net-probe?do=proc');
      expect(call.status).not.toBe(200);
    } finally {
      await p.stop();
    }
  });
});

/**
 * The tester's repro: a victim's http-runtime server starts slowly on $SKIFF_SOCKET; an attacker
 * function watches the loopback and listens first on the port the victim's bridge probes. In
 * bubblewrap each instance's loopback is its own; without a sandbox (one shared loopback) the bridge
 * refuses a port whose listener is not its server's.
 */
describe.each([
  ['bubblewrap', {}],
  ['no sandbox (a shared loopback)', { sandbox: { mode: 'none', insecureNoSandbox: true } }],
] as const)('security: interception of another tenant’s http-runtime calls, %s', (_name, config) => {
  let p: TestPlatform;
  let watcher: number | undefined;

  beforeAll(async () => {
    p = await startPlatform({ config });
    await p.deployAll({ 'net-attacker': 'net-attacker' });
  });
  afterAll(async () => {
    await p.stop();
    // without a sandbox the watcher is a plain process of this machine: stop it
    if (watcher !== undefined) {
      try {
        process.kill(watcher, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('a loopback watcher of another function never answers the victim’s calls', async () => {
    // the attacker's watcher runs on (in a session of its own) after this call
    const started = (await (await p.call('/net-attacker')).text()).trim().split(' ');
    expect(started[0]).toBe('started');
    if ('sandbox' in config && started[1] !== undefined) {
      watcher = Number(readFileSync(started[1], 'utf8'));
      rmSync(started[1], { force: true });
    }
    const res = await p.deploy('net-victim', fixture('net-victim'));
    expect(res.status, await res.clone().text()).toBe(201);
    for (let i = 0; i < 5; i++) {
      const call = await p.call('/net-victim/', { headers: { authorization: 'Bearer victim-secret' } });
      expect(await call.text()).toBe('victim');
      expect(call.status).toBe(200);
    }
  }, 60_000);
});
