/**
 * The build proxy: the only way out of a build's sandbox. It listens on a Unix socket bound into the
 * sandbox (a forwarder inside, runtimes/sandbox/build-proxy.mjs, offers it as an HTTP proxy on the
 * sandbox's own loopback) and accepts only `CONNECT host:port`. The name is resolved here and every
 * address is checked with the outbound guard, so loopback, private, link-local and the machine's own
 * addresses (the platform's ports) are refused unless `build.privateRegistries` is set. Tunnels
 * are capped in number, and each closes after a minute without traffic; all close with the build.
 */
import { chmod } from 'node:fs/promises';
import net from 'node:net';
import { forbiddenAddress, guardedLookup, type OutboundPolicy } from '../../shared/outbound.js';

export interface BuildProxyOptions {
  policy: OutboundPolicy;
  /** Tunnels open at once; one more is refused (503). */
  maxConnections?: number;
  /** A tunnel (or a client that has not sent its request) closes after this long without traffic. */
  idleMs?: number;
  /** Told each refusal, for the build log (at most `maxNotes` of them). */
  note?: (line: string) => void;
  maxNotes?: number;
}

export interface BuildProxy {
  close(): Promise<void>;
}

const MAX_HEAD = 8 * 1024;

/** `host:port` or `[v6]:port` → its parts, or undefined. */
export function parseAuthority(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

function answer(socket: net.Socket, status: string, why: string): void {
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`);
}

/** Resolves `host` under the policy: the first allowed address, or why there is none. */
function resolve(host: string, policy: OutboundPolicy): Promise<{ address: string } | { why: string }> {
  if (net.isIP(host) !== 0) {
    const why = policy.allowPrivate ? undefined : forbiddenAddress(host);
    return Promise.resolve(why === undefined ? { address: host } : { why: `${host} is ${why}` });
  }
  return new Promise((done) => {
    guardedLookup(policy)(host, {}, (err, address) => {
      if (err !== null) done({ why: err.message });
      else done({ address: address as string });
    });
  });
}

export async function startBuildProxy(socketPath: string, opts: BuildProxyOptions): Promise<BuildProxy> {
  const maxConnections = opts.maxConnections ?? 64;
  const idleMs = opts.idleMs ?? 60_000;
  const maxNotes = opts.maxNotes ?? 20;
  let notes = 0;
  const note = (line: string): void => {
    if (notes++ < maxNotes) opts.note?.(line);
  };
  const open = new Set<net.Socket>();
  let tunnels = 0;

  const handle = (client: net.Socket): void => {
    // sockets of both sides: tunnels, and clients that have not asked yet
    if (open.size >= maxConnections * 3) {
      client.destroy();
      return;
    }
    open.add(client);
    client.setTimeout(idleMs, () => client.destroy());
    client.on('error', () => client.destroy());
    client.on('close', () => open.delete(client));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) answer(client, '431 Request Header Fields Too Large', 'too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      void tunnel(client, head.subarray(0, end).toString('latin1'), head.subarray(end + 4));
    };
    client.on('data', onData);
  };

  const tunnel = async (client: net.Socket, head: string, rest: Buffer): Promise<void> => {
    const [method, target] = (head.split('\r\n')[0] ?? '').split(' ');
    if (method !== 'CONNECT') {
      note(`build proxy: refused ${String(method).slice(0, 16)} (only CONNECT, for https registries)`);
      return answer(client, '405 Method Not Allowed', 'the build proxy only tunnels CONNECT host:port');
    }
    const authority = parseAuthority(target ?? '');
    if (authority === undefined) return answer(client, '400 Bad Request', 'CONNECT needs host:port');
    if (tunnels >= maxConnections) {
      note(`build proxy: refused ${target}: more than ${maxConnections} tunnels at once`);
      return answer(client, '503 Service Unavailable', 'too many tunnels at once');
    }
    tunnels++;
    let counted = true;
    const release = (): void => {
      if (counted) tunnels--;
      counted = false;
    };
    client.on('close', release);
    const resolved = await resolve(authority.host, opts.policy);
    if (client.destroyed) return;
    if ('why' in resolved) {
      note(`build proxy: refused CONNECT ${target}: ${resolved.why}`);
      return answer(client, '403 Forbidden', `refused: ${resolved.why}`);
    }
    const upstream = net.connect({ host: resolved.address, port: authority.port });
    open.add(upstream);
    upstream.setTimeout(idleMs, () => upstream.destroy());
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('close', () => {
      open.delete(upstream);
      end();
    });
    client.on('close', end);
    upstream.on('error', (err) => {
      if (!client.destroyed && client.bytesWritten === 0) {
        answer(client, '502 Bad Gateway', `cannot reach ${target}: ${err.message}`);
      } else end();
    });
    upstream.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };

  const server = net.createServer(handle);
  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(socketPath, () => {
      server.off('error', fail);
      ready();
    });
  });
  // only the build's user: the sandbox hands the socket to it (another uid when the platform is root)
  await chmod(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((done) => {
        for (const socket of open) socket.destroy();
        server.close(() => done());
      }),
  };
}
