/**
 * A @grpc/grpc-js server behind Skiff's connection guard: connections are accepted by a plain TCP
 * server, checked by the guard (total and per-address caps, idle deadlines) and only then handed to
 * grpc-js, so every gRPC port of the platform (the trigger's, a dialect's) has the same limits. And
 * its stop: calls in flight get a grace period, then the rest are cancelled.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { ConnectionGuard, listenAll } from '../shared/listeners.js';

/** Listens on `host`:`port` (every address of a name) for `server`, through `guard`. */
export function listenGrpc(
  server: Server,
  guard: ConnectionGuard,
  host: string,
  port: number,
): Promise<{ servers: NetServer[]; address: AddressInfo }> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const make = () => {
    const net = createNetServer((socket) => {
      if (guard.admit(socket)) injector.injectConnection(socket);
    });
    net.maxConnections = guard.limits.maxConnections;
    return net;
  };
  return listenAll(make, host, port);
}

/**
 * tryShutdown lets calls in flight finish; after the grace the rest are cancelled. Its callback is
 * not the end: on Node.js 24, closing grpc-js's HTTP/2 server closes its sessions first, so
 * tryShutdown finds them closed and calls back while their streams still run. The guard's
 * connections are the truth: each closes once its last stream has ended (an idle one at once).
 */
export function shutdownGrpc(server: Server, graceMs: number, guard?: ConnectionGuard): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      void (guard?.whenEmpty() ?? Promise.resolve()).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
}
