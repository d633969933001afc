/**
 * The embedded MQTT broker (aedes on a `net` server), protected (docs/security.md, MQTT): a deadline
 * for CONNECT, bounded client ids, queues and keep-alives, and payloads over `mqtt.maxPayloadBytes`
 * refused in `authorizePublish`. A packet whose header announces more than that is cut off before
 * aedes buffers it, so a client cannot make the broker hold a 256 MB packet. Logins, client id
 * ownership and topic access are `access`'s (mqtt-auth.ts); connections are capped in all and per
 * address, the ones over a cap closed as they come.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { Aedes, type AedesOptions } from 'aedes';
import type { BrokerAccess } from './mqtt-auth.js';
import type { BrokerLimits } from './mqtt-limits.js';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { localUrl } from '../shared/urls.js';
import { clientKey, type ConnectionGuard } from '../shared/listeners.js';

/** Room in a PUBLISH packet besides its payload: a topic of up to 65535 bytes and its length, a packet id. */
const PUBLISH_OVERHEAD = 65_535 + 2 + 2;
export interface BrokerOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  access: BrokerAccess;
  /** Caps on retained messages, subscriptions and offline queues (mqtt-limits.ts). */
  limits: BrokerLimits;
  logger: Logger;
  /** Connection caps (in all, per address) and the deadline for silent connections (src/shared/listeners.ts). */
  guard: ConnectionGuard;
  /** Connections from one address that have not logged in yet, at most (more are closed as they come). */
  maxPendingLoginsPerAddress: number;
}

/** How long a connection has to complete its CONNECT (and login) before it is closed. */
export const LOGIN_DEADLINE_MS = 2_000;

export interface EmbeddedBroker {
  /** Where clients reach it (127.0.0.1 when bound to 0.0.0.0). */
  url: string;
  /** A new in-process connection to the broker, for the platform's own client (no socket, no cap). */
  connectInternal(): Duplex;
  close(): Promise<void>;
}

/**
 * Watches the bytes aedes reads and destroys the connection as soon as an MQTT fixed header announces
 * a packet longer than `limit` (or a malformed length), before the body is buffered.
 */
export function guardPacketSize(socket: Socket, limit: number, onTooLarge: (length: number) => void): void {
  let skip = 0; // body bytes of the current packet still to come
  let header: number[] = []; // the fixed header read so far: type byte, then length bytes
  socket.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - i);
        skip -= take;
        i += take;
        continue;
      }
      header.push(chunk[i] as number);
      i += 1;
      if (header.length === 1) continue;
      const last = header[header.length - 1] as number;
      if ((last & 0x80) !== 0) {
        if (header.length === 5) {
          socket.destroy(); // a remaining length has at most 4 bytes: not MQTT
          return;
        }
        continue;
      }
      let length = 0;
      for (let k = header.length - 1; k >= 1; k--) length = length * 128 + ((header[k] as number) & 0x7f);
      header = [];
      if (length > limit) {
        onTooLarge(length);
        socket.destroy();
        return;
      }
      skip = length;
    }
  });
}

/** Starts aedes on `host:port` (0: a free port). */
export async function startBroker(options: BrokerOptions): Promise<EmbeddedBroker> {
  const { logger, maxPayloadBytes, access, limits } = options;
  const settings: AedesOptions = {
    connectTimeout: LOGIN_DEADLINE_MS,
    // MQTT 3.1 allows 23 characters; 3.1.1 clients are not limited by aedes
    maxClientsIdLength: 128,
    // packets a client may send before its CONNECT is handled
    queueLimit: 42,
    // a client must send a keep-alive (0, "none", is refused) of at most an hour
    keepaliveLimit: 3_600,
    drainTimeout: 30_000,
    persistence: limits.persistence(),
    authenticate: access.authenticate,
    authorizeSubscribe: (client, sub, callback) => {
      access.authorizeSubscribe(client, sub, (err, allowed) => {
        if (err !== null || allowed === null || allowed === undefined) {
          limits.refuse(sub);
          callback(err, allowed ?? null);
          return;
        }
        if (client === null || limits.subscribeAllowed(client, sub.topic, access.isPlatform(client))) {
          callback(null, allowed);
          return;
        }
        logger.debug(
          { client: client.id, filter: sub.topic.slice(0, 300) },
          'refused an MQTT subscription: over mqtt.broker.maxSubscriptionsPerClient or maxFilterLength',
        );
        limits.refuse(sub);
        callback(null, null);
      });
    },
    // $SYS messages (aedes publishes client ids there) reach no client: see authorizeForward
    authorizeForward: access.authorizeForward,
    authorizePublish: (client, packet, callback) => {
      const problem = access.publishProblem(client, packet.topic);
      if (problem !== undefined) {
        logger.debug({ client: client?.id, topic: packet.topic }, `refused an MQTT publish: ${problem}`);
        callback(new Error(problem));
        return;
      }
      const size = Buffer.byteLength(packet.payload);
      if (size > maxPayloadBytes) {
        logger.warn(
          { client: client?.id, topic: packet.topic, bytes: size, maxPayloadBytes },
          'refused an MQTT message over mqtt.maxPayloadBytes; the broker closed its connection',
        );
        callback(new Error(`payload of ${size} bytes is over mqtt.maxPayloadBytes (${maxPayloadBytes})`));
        return;
      }
      if (packet.retain && client !== null) {
        const over = limits.retainProblem(access.userName(client), packet.topic, size);
        if (over !== undefined) {
          logger.warn(
            { client: client.id, topic: packet.topic.slice(0, 300), bytes: size },
            `refused a retained MQTT message: ${over}; the broker closed its connection`,
          );
          callback(new Error(over));
          return;
        }
      }
      callback(null);
    },
  };
  const broker = await Aedes.createBroker(settings);
  broker.on('clientError', (client, err) => {
    logger.debug({ client: client.id, err: err.message }, 'MQTT client error');
  });
  broker.on('connectionError', (client, err) => {
    logger.debug({ client: client.id, err: err.message }, 'MQTT connection refused');
  });
  broker.on('clientDisconnect', (client) => access.disconnected(client));
  broker.on('unsubscribe', (filters, client) => limits.unsubscribed(client, filters));
  /**
   * Connections not logged in yet, per address, oldest first. Over `maxPendingLoginsPerAddress` the
   * oldest is closed: connections that never log in cannot keep a new one (a real login) out.
   */
  const pending = new Map<string, Set<unknown>>();
  const pendingOf = new Map<unknown, string>();
  const loggedIn = (conn: unknown): void => {
    const key = pendingOf.get(conn);
    if (key === undefined) return;
    pendingOf.delete(conn);
    const set = pending.get(key);
    set?.delete(conn);
    if (set?.size === 0) pending.delete(key);
  };
  broker.on('client', (client) => loggedIn(client.conn));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    if (!options.guard.admit(socket)) return; // destroyed before a byte is read
    const key = clientKey(socket.remoteAddress); // an IPv6 /64 is one address, as for the caps
    const waiting = pending.get(key) ?? new Set<unknown>();
    pending.set(key, waiting);
    for (const oldest of waiting) {
      if (waiting.size < options.maxPendingLoginsPerAddress) break;
      logger.debug({ remote: key }, 'closed an MQTT connection: newer ones from its address wait to log in');
      loggedIn(oldest);
      (oldest as Socket).destroy();
    }
    waiting.add(socket);
    pendingOf.set(socket, key);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      loggedIn(socket);
    });
    socket.on('error', () => undefined); // aedes reports it; a reset must not become an uncaught error
    broker.handle(socket);
    guardPacketSize(socket, maxPayloadBytes + PUBLISH_OVERHEAD, (length) => {
      logger.warn(
        { remote: socket.remoteAddress, bytes: length, maxPayloadBytes },
        'closed an MQTT connection that sent a packet over mqtt.maxPayloadBytes',
      );
    });
  });
  server.maxConnections = options.guard.limits.maxConnections;
  let address: AddressInfo;
  try {
    address = await new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `the MQTT broker cannot listen on ${options.host}:${options.port}: ${(err as Error).message}; ` +
        'choose another port (--mqtt-port, SKIFF_MQTT_PORT), use an external broker (--mqtt-url) ' +
        'or turn it off (mqtt.broker.enabled: false)',
      { cause: err },
    );
  }
  let closed: Promise<void> | undefined;
  return {
    url: localUrl('mqtt', address),
    connectInternal() {
      const [ours, theirs] = duplexPair();
      // a pair's ends do not close each other: when aedes closes its end (after DISCONNECT, or at
      // close), the client's end must close too, or the client waits for it
      ours.once('close', () => theirs.destroy());
      theirs.once('close', () => ours.destroy());
      access.markInternal(ours);
      broker.handle(ours);
      return theirs;
    },
    close() {
      closed ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await serverClosed;
      })();
      return closed;
    },
  };
}
