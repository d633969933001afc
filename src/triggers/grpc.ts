/**
 * The gRPC trigger: service `skiff.v1.Invoker` (proto/skiff/v1/invoker.proto, loaded at run time)
 * on a @grpc/grpc-js server with server reflection. Each unary `Invoke` call becomes one Invocation;
 * the client's deadline caps the function's timeout. docs/triggers/grpc.md describes it for users.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  Metadata,
  Server,
  type handleUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type Options as LoaderOptions } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { FailureLog } from '../shared/failure-log.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import { INVOCATION_ID_KEY, toStatus } from './grpc-errors.js';
import { toInvocation, toResponse, type InvokeRequest, type InvokeResponse } from './grpc-messages.js';
import type { RunningTrigger, TriggerAdapter, TriggerContext } from './types.js';
import { localUrl } from '../shared/urls.js';
import { connectionLimits } from '../shared/connection-budget.js';
import { ConnectionGuard } from '../shared/listeners.js';
import { listenGrpc, shutdownGrpc } from './grpc-listen.js';

/** The shipped service definition, found from the package root whether running from src/ or dist/. */
export const INVOKER_PROTO = path.join(PACKAGE_ROOT, 'proto', 'skiff', 'v1', 'invoker.proto');
/** Fully qualified name of the service. */
export const INVOKER_SERVICE = 'skiff.v1.Invoker';
/** How proto-loader reads the file: camelCase field names, bytes as Buffer, unset fields as defaults. */
export const LOADER_OPTIONS: LoaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
/** Calls one connection may carry at once. */
const MAX_STREAMS_PER_CONNECTION = 100;
/** A connection without a call for this long is closed (GOAWAY; clients reconnect when needed). */
const CONNECTION_IDLE_MS = 5 * 60_000;
/** How long in-flight calls may finish after stop() before the server closes them. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * Listens on `host:port` with our own TCP servers (dual-stack `::`, `localhost` on both loopbacks)
 * and hands each connection the guard admits to the gRPC server, so that the connection caps and the
 * deadline for silent connections hold for gRPC too (grpc-js has no connection cap of its own).
 */
/** The `Invoke` handler: request → Invocation → router → InvokeResponse, or a mapped gRPC error. */
function invokeHandler(ctx: TriggerContext): handleUnaryCall<InvokeRequest, InvokeResponse> {
  const maxBytes = ctx.config.grpc.maxMessageBytes;
  const failures = new FailureLog(ctx.logger);
  return (call, callback) => {
    const id = randomUUID();
    const head = new Metadata();
    head.set(INVOCATION_ID_KEY, id);
    call.sendMetadata(head);
    void (async () => {
      try {
        const inv = toInvocation(id, call.request, call.metadata, call.getDeadline());
        const result = await ctx.invoke(inv);
        if (result.body.length > maxBytes) {
          throw new SkiffError(
            'SKIFF_E_PAYLOAD_TOO_LARGE',
            `the function answered ${result.body.length} bytes; a gRPC message may hold at most ${maxBytes} (grpc.maxMessageBytes)`,
          );
        }
        callback(null, toResponse(result));
      } catch (err) {
        const error = toSkiffError(err);
        failures.failed(error, err, { invocationId: id }, 'invocation failed');
        callback(toStatus(error));
      }
    })();
  };
}

/** The gRPC trigger adapter (`grpc` in the trigger record), on when `grpc.enabled`. */
export const grpc: TriggerAdapter = {
  enabled: (config) => config.grpc.enabled,

  async start(ctx): Promise<RunningTrigger> {
    const { host, port, maxMessageBytes, maxConnections } = ctx.config.grpc;
    const definition = loadSync(INVOKER_PROTO, LOADER_OPTIONS);
    const service = definition[INVOKER_SERVICE] as ServiceDefinition | undefined;
    if (service === undefined) throw new Error(`${INVOKER_PROTO} does not define ${INVOKER_SERVICE}`);
    const server = new Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
      'grpc.max_connection_idle_ms': CONNECTION_IDLE_MS,
    });
    const implementation: UntypedServiceImplementation = { Invoke: invokeHandler(ctx) };
    server.addService(service, implementation);
    // the enabled compatibility APIs' services too, so stubs built from their protos work unchanged
    const all = (ctx.grpcServices ?? []).reduce(
      (defs, add) => ({ ...defs, ...add(server, ctx) }),
      definition,
    );
    new ReflectionService(all).addToServer(server);
    const guard = new ConnectionGuard('grpc', connectionLimits(ctx.config, maxConnections), ctx.logger);
    let listening: Awaited<ReturnType<typeof listenGrpc>>;
    try {
      listening = await listenGrpc(server, guard, host, port);
    } catch (err) {
      server.forceShutdown();
      throw new SkiffError(
        'SKIFF_E_CONFIG_INVALID',
        `cannot listen for gRPC on ${host}:${port} (${(err as Error).message}): free the port, pick another with grpc.port, --grpc-port or SKIFF_GRPC_PORT, or set grpc.enabled to false`,
        { cause: err },
      );
    }
    const url = localUrl('grpc', listening.address);
    ctx.logger.debug({ url }, 'gRPC trigger listening');
    let stopped: Promise<void> | undefined;
    return {
      endpoint: { name: 'grpc', url },
      stop: () => {
        for (const listener of listening.servers) listener.close();
        stopped ??= shutdownGrpc(
          server,
          Math.min(SHUTDOWN_GRACE_MS, ctx.config.executor.drainTimeoutMs),
          guard,
        ).then(() => guard.close());
        return stopped;
      },
    };
  },
};
