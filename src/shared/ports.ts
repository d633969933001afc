/**
 * The ports the platform is about to listen on, checked all at once before any listener starts: a
 * taken port is reported with every other taken one (SKIFF_E_PORT_IN_USE), each with the setting and
 * the flag that move it, instead of the first one failing the start with an unexpected error.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer } from 'node:net';
import type { Config } from './config.js';
import { SkiffError } from './errors.js';
import { bindHosts } from './listeners.js';

export interface PlannedPort {
  /** For people: "control API", "gRPC trigger". */
  listener: string;
  protocol: 'tcp' | 'udp';
  host: string;
  port: number;
  /** The configuration key that moves it (`grpc.port`). */
  setting: string;
  /** The `skiff serve` flag that moves it, if there is one. */
  flag?: string;
  /** Whether `skiff serve --listeners` can turn it off. */
  optional?: boolean;
}

export interface PortConflict extends PlannedPort {
  address: string;
  reason: string;
}

/** The core's listeners that the configuration turns on. */
export function corePorts(config: Config): PlannedPort[] {
  const ports: PlannedPort[] = [
    {
      listener: 'control API',
      protocol: 'tcp',
      ...at(config.control),
      setting: 'control.port',
      flag: '--control-port',
    },
    {
      listener: 'HTTP gateway',
      protocol: 'tcp',
      ...at(config.http),
      setting: 'http.port',
      flag: '--http-port',
    },
  ];
  if (config.grpc.enabled) {
    ports.push({
      listener: 'gRPC trigger',
      protocol: 'tcp',
      ...at(config.grpc),
      setting: 'grpc.port',
      flag: '--grpc-port',
      optional: true,
    });
  }
  if (config.coap.enabled) {
    ports.push({
      listener: 'CoAP trigger',
      protocol: 'udp',
      ...at(config.coap),
      setting: 'coap.port',
      flag: '--coap-port',
      optional: true,
    });
  }
  if (config.mqtt.enabled && config.mqtt.url === null && config.mqtt.broker.enabled) {
    ports.push({
      listener: 'MQTT broker',
      protocol: 'tcp',
      ...at(config.mqtt.broker),
      setting: 'mqtt.broker.port',
      flag: '--mqtt-port',
      optional: true,
    });
  }
  return ports;
}

function at(section: { host: string; port: number }): { host: string; port: number } {
  return { host: section.host, port: section.port };
}

/** Throws SKIFF_E_PORT_IN_USE naming every planned port that is taken (port 0 is always free). */
export async function checkPorts(planned: readonly PlannedPort[]): Promise<void> {
  const conflicts: PortConflict[] = [];
  for (const [i, p] of planned.entries()) {
    if (p.port === 0) continue;
    const twin = planned
      .slice(0, i)
      .find((q) => q.protocol === p.protocol && q.port === p.port && overlap(q.host, p.host));
    if (twin !== undefined) {
      conflicts.push({ ...p, address: p.host, reason: `also the ${twin.listener}'s port` });
      continue;
    }
    const hosts = bindHosts(p.host);
    for (const [n, host] of hosts.entries()) {
      const code = await probe(p.protocol, host, p.port);
      if (code === undefined) continue;
      // an address the machine lacks after the first is skipped when listening, too
      if (n > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
      conflicts.push({ ...p, address: host, reason: REASONS[code] ?? code });
      break;
    }
  }
  if (conflicts.length > 0) throw portsInUse(conflicts);
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'in use by another program',
  EACCES: 'needs privileges this process lacks (ports below 1024)',
  EADDRNOTAVAIL: 'this machine has no such address',
};

/** Whether two bind hosts can collide on one port (a wildcard takes every address). */
function overlap(a: string, b: string): boolean {
  const wild = (h: string) => h === '::' || h === '0.0.0.0';
  return a === b || wild(a) || wild(b) || a === 'localhost' || b === 'localhost';
}

/** Binds and closes at once; resolves with the error code, or undefined when the port is free. */
function probe(protocol: 'tcp' | 'udp', host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EADDRINUSE');
    if (protocol === 'udp') {
      const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: false });
      sock.once('error', (err) => {
        sock.close();
        failed(err);
      });
      sock.bind({ port, address: host, exclusive: true }, () => sock.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once('error', failed);
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** The error for taken ports: one line each, with what moves it. */
export function portsInUse(conflicts: readonly PortConflict[]): SkiffError {
  const lines = conflicts.map((c) => {
    const where = c.address.includes(':') ? `[${c.address}]:${c.port}` : `${c.address}:${c.port}`;
    const move = c.flag === undefined ? `set ${c.setting}` : `use ${c.flag} or set ${c.setting}`;
    const off = c.optional === true ? ', or leave it out of --listeners' : '';
    return `  - ${c.listener} on ${c.protocol} ${where}: ${c.reason}; ${move} (0 picks a free port)${off}`;
  });
  const n = conflicts.length;
  return new SkiffError(
    'SKIFF_E_PORT_IN_USE',
    `cannot start: ${n === 1 ? "a listener's port is" : `${n} listeners' ports are`} not free, nothing was started:\n${lines.join('\n')}`,
    {
      details: {
        conflicts: conflicts.map((c) => ({
          listener: c.listener,
          protocol: c.protocol,
          address: c.address,
          port: c.port,
          reason: c.reason,
          setting: c.setting,
          ...(c.flag === undefined ? {} : { flag: c.flag }),
        })),
      },
    },
  );
}

/** A listener that failed to bind after the check (another program was quicker), as PORT_IN_USE. */
export function bindFailure(err: unknown, planned: readonly PlannedPort[]): unknown {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES') return err;
  const match = planned.find((p) => p.port === e.port) ?? {
    listener: 'a listener',
    protocol: 'tcp' as const,
    host: e.address ?? '?',
    port: e.port ?? 0,
    setting: 'its port setting',
  };
  return portsInUse([{ ...match, address: e.address ?? match.host, reason: REASONS[e.code] ?? e.code }]);
}
