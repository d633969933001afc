/**
 * The connection lifecycle of every TCP listener (gateway, control API, gRPC, MQTT), apart from the
 * protocols: a cap on connections per listener and per client address, checked when a connection is
 * accepted (an excess one is destroyed before a byte is read), a deadline for connections that send
 * nothing, and for HTTP a deadline for request bodies that stop arriving. Also where listeners bind:
 * `::` is dual-stack (0.0.0.0 without IPv6), `localhost` is 127.0.0.1 and ::1.
 */
import type { IncomingMessage, Server as HttpServer, ServerOptions } from 'node:http';
import { isIPv6, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from './logger.js';

export interface ConnectionLimits {
  /** Connections open at once on this listener, over all of its sockets. */
  maxConnections: number;
  /** Connections open at once from one client address (one IPv4 address, or one IPv6 /64). */
  maxPerAddress: number;
  /** A connection that has sent no byte this long after it was accepted is closed. */
  idleTimeoutMs: number;
  /**
   * HTTP: a request body that has not progressed for this long, or a response the client has not
   * read any of for this long, closes the connection (0: no such deadline).
   */
  bodyIdleTimeoutMs: number;
  /**
   * At a cap, a new connection pushes out the oldest connection that has not proven a credential
   * (see `prove`) instead of being refused; it is refused only when every connection in its way has
   * proven one. For a listener whose legitimate clients authenticate in their first request (the
   * control API): strangers can then never keep them out, however many connections they hold.
   */
  evictUnproven?: boolean;
}

/** The HTTP server's own deadlines (node:http enforces them). */
export interface HttpTimeouts {
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

const SWEEP_EVERY_MS = 1_000;
const REFUSAL_LOG_EVERY_MS = 10_000;
const MAX_HEADER_BYTES = 16 * 1024;
/** With eviction, connections net lets through over the cap, to be admitted or refused by the guard. */
const EVICTION_SLACK = 64;

/**
 * The key under which a client's connections count: its IPv4 address (also when it arrives
 * IPv4-mapped on a dual-stack socket), or the /64 of an IPv6 address, since one host usually holds
 * a whole /64.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  // an IPv4 address (the common case, asked per request) is its own key
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1] as string;
  if (!isIPv6(address) || address === '::1') return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

interface Tracked {
  socket: Socket;
  key: string;
  since: number;
  bytes: number;
  progressAt: number;
  /** The HTTP request whose body is being received, if any. */
  request: IncomingMessage | undefined;
  /** Bytes waiting to be written to the socket at the last sweep, and when that last changed. */
  queued: number;
  writtenAt: number;
  /** A request on it presented a valid credential (`prove`). */
  proven: boolean;
}

/** Bytes libuv still has to write to the socket: it shrinks only as the client reads. */
function writeQueue(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: unknown } | null })._handle;
  return typeof handle?.writeQueueSize === 'number' ? handle.writeQueueSize : 0;
}

/**
 * Counts the connections of one listener and refuses those over its caps; closes connections that
 * never send anything and HTTP requests whose body stalls. One guard may watch several servers
 * (the control API on 127.0.0.1 and ::1): the caps are over all of them.
 */
export class ConnectionGuard {
  private readonly open = new Map<Socket, Tracked>();
  private readonly perAddress = new Map<string, number>();
  private readonly emptyWaiters: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private refusedSinceLog = 0;
  /** HTTP: responses the client does not read are closed too (a slow-read attack). */
  private watchWrites = false;
  private lastRefusalLog = 0;
  /** Connections refused since the start (for tests and the log). */
  refused = 0;
  /** Unproven connections pushed out for a new one (`evictUnproven`; for tests and the log). */
  evicted = 0;

  constructor(
    readonly name: string,
    readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Admits a freshly accepted connection, or destroys it at once (nothing of it is read). */
  admit(socket: Socket): boolean {
    const key = clientKey(socket.remoteAddress);
    const full = (): 'listener' | 'address' | undefined => {
      if (this.open.size >= this.limits.maxConnections) return 'listener';
      if ((this.perAddress.get(key) ?? 0) >= this.limits.maxPerAddress) return 'address';
      return undefined;
    };
    for (let cap = full(); cap !== undefined; cap = full()) {
      const victim =
        this.limits.evictUnproven === true
          ? this.oldestUnproven(cap === 'address' ? key : undefined)
          : undefined;
      if (victim === undefined) {
        socket.destroy();
        this.noteRefusal(key, cap);
        return false;
      }
      this.evicted += 1;
      this.drop(victim, 'a new connection took its place (it has not proven the token)');
    }
    const now = this.now();
    this.open.set(socket, {
      socket,
      key,
      since: now,
      bytes: 0,
      progressAt: now,
      request: undefined,
      queued: 0,
      writtenAt: now,
      proven: false,
    });
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    socket.once('close', () => this.forget(socket));
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS).unref();
    return true;
  }

  /**
   * Marks a connection as one whose client proved a credential (a request on it carried a valid
   * admin token): with `evictUnproven`, it is never pushed out for a new one.
   */
  prove(socket: Socket): void {
    const t = this.open.get(socket);
    if (t !== undefined) t.proven = true;
  }

  /** Whether a request on `socket` proved a credential. */
  isProven(socket: Socket): boolean {
    return this.open.get(socket)?.proven === true;
  }

  /** The oldest open connection (of client `key`, if given) that has not proven a credential. */
  private oldestUnproven(key: string | undefined): Tracked | undefined {
    // Map order is admission order: the first match is the oldest
    for (const t of this.open.values()) {
      if (!t.proven && (key === undefined || t.key === key)) return t;
    }
    return undefined;
  }

  /** Guards every connection `server` accepts, before its own connection listener sees it. */
  attach(server: NetServer): void {
    // a backstop: net refuses these before a Socket exists (with eviction, a new connection must
    // reach admit() to push an old one out: the backstop leaves room for a burst of them)
    server.maxConnections =
      this.limits.evictUnproven === true
        ? this.limits.maxConnections + EVICTION_SLACK
        : this.limits.maxConnections;
    server.prependListener('connection', (socket: Socket) => void this.admit(socket));
  }

  /** As `attach`, and watches the body of each request of an HTTP server. */
  attachHttp(server: HttpServer): void {
    this.attach(server);
    this.watchWrites = true;
    server.prependListener('request', (req: IncomingMessage) => {
      const tracked = this.open.get(req.socket);
      if (tracked === undefined) return;
      tracked.request = req;
      tracked.bytes = req.socket.bytesRead;
      tracked.progressAt = this.now();
    });
  }

  /** Closes every connection and stops watching. */
  close(): void {
    for (const socket of [...this.open.keys()]) socket.destroy();
    this.stopSweeping();
  }

  /** One pass over the open connections; run every second while there are any. */
  sweep(now = this.now()): void {
    const { idleTimeoutMs, bodyIdleTimeoutMs } = this.limits;
    for (const t of this.open.values()) {
      const bytes = t.socket.bytesRead;
      if (bytes !== t.bytes) {
        t.bytes = bytes;
        t.progressAt = now;
      }
      if (bytes === 0) {
        if (now - t.since >= idleTimeoutMs) this.drop(t, 'it sent nothing');
        continue;
      }
      if (this.watchWrites && bodyIdleTimeoutMs > 0) {
        const queued = writeQueue(t.socket);
        if (queued === 0 || queued !== t.queued) {
          t.queued = queued;
          t.writtenAt = now;
        } else if (now - t.writtenAt >= bodyIdleTimeoutMs) {
          this.drop(t, 'it does not read its response');
          continue;
        }
      }
      const req = t.request;
      if (req === undefined) continue;
      if (req.complete || req.destroyed) {
        t.request = undefined;
        continue;
      }
      // a body we do not read (our buffer is full) is not the client's delay
      const clientsTurn = req.readableLength < req.readableHighWaterMark;
      if (bodyIdleTimeoutMs > 0 && clientsTurn && now - t.progressAt >= bodyIdleTimeoutMs) {
        this.drop(t, 'its request body stalled');
      }
    }
  }

  private drop(t: Tracked, why: string): void {
    this.logger.debug({ listener: this.name, remote: t.socket.remoteAddress }, `closed a connection: ${why}`);
    t.socket.destroy();
    this.forget(t.socket);
  }

  private forget(socket: Socket): void {
    const t = this.open.get(socket);
    if (t === undefined) return;
    this.open.delete(socket);
    const left = (this.perAddress.get(t.key) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(t.key);
    else this.perAddress.set(t.key, left);
    if (this.open.size === 0) {
      this.stopSweeping();
      for (const resolve of this.emptyWaiters.splice(0)) resolve();
    }
  }

  /** Resolves once no connection is open (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private stopSweeping(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private noteRefusal(key: string, cap: 'listener' | 'address'): void {
    this.refused += 1;
    this.refusedSinceLog += 1;
    const now = this.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_EVERY_MS) return;
    this.logger.warn(
      {
        listener: this.name,
        refused: this.refusedSinceLog,
        open: this.open.size,
        maxConnections: this.limits.maxConnections,
        maxPerAddress: this.limits.maxPerAddress,
        lastClient: key,
      },
      cap === 'listener'
        ? 'refusing connections: the listener has its maximum open'
        : 'refusing connections: a client address has its maximum open',
    );
    this.lastRefusalLog = now;
    this.refusedSinceLog = 0;
  }
}

/** Options of an HTTP server with these deadlines (against slowloris and idle keep-alives). */
export function httpServerOptions(t: HttpTimeouts): ServerOptions {
  return {
    headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs),
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    // how often node:http checks the two deadlines above (its default is every 30 s)
    connectionsCheckingInterval: 1_000,
    maxHeaderSize: MAX_HEADER_BYTES,
  };
}

/** Whether this machine has an IPv6 address (then `::` can be bound). */
export function hasIPv6(): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.family === 'IPv6'));
}

/**
 * The addresses a configured host stands for: `localhost` binds 127.0.0.1 and ::1 (loopback of both
 * families, not whatever the resolver prefers), `::` is dual-stack or 0.0.0.0 on a machine without
 * IPv6; any other host is bound as given.
 */
export function bindHosts(host: string, ipv6 = hasIPv6()): string[] {
  if (host === 'localhost') return ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  if (host === '::' && !ipv6) return ['0.0.0.0'];
  return [host];
}

function listenOne(server: NetServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function close(server: NetServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const LISTEN_ATTEMPTS = 5;

/**
 * Listens one server per address of `host` (see `bindHosts`), all on the same port (a free one for
 * port 0). An address the machine lacks after the first (no ::1) is skipped. Resolves to the
 * servers and the first one's address.
 */
export async function listenAll<S extends NetServer>(
  make: () => S,
  host: string,
  port: number,
): Promise<{ servers: S[]; address: AddressInfo }> {
  const hosts = bindHosts(host);
  for (let attempt = 1; ; attempt += 1) {
    const servers: S[] = [];
    try {
      const first = make();
      servers.push(first);
      const address = await listenOne(first, hosts[0] as string, port);
      for (const other of hosts.slice(1)) {
        const server = make();
        try {
          await listenOne(server, other, address.port);
          servers.push(server);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') throw err;
        }
      }
      return { servers, address };
    } catch (err) {
      await Promise.all(servers.filter((s) => s.listening).map(close));
      const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      // port 0: the port free on the first address was taken on another; try a new one
      if (!(taken && port === 0 && servers.length > 0 && attempt < LISTEN_ATTEMPTS)) throw err;
    }
  }
}
