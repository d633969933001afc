/**
 * Clients of Baetyl's runtime interfaces built from the protos in the repository (proto/baetyl/), as a
 * Baetyl function manager or a v2 caller would build them, and one unary call with its outcome.
 */
import path from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_DIR = path.resolve(import.meta.dirname, '..', '..', 'proto', 'baetyl');
const loaded = loadPackageDefinition(
  loadSync(
    ['runtime.proto', 'openedge.proto', 'baetyl.proto', 'faas.proto'].map((f) => path.join(PROTO_DIR, f)),
    { keepCase: true, longs: String, defaults: true },
  ),
);

/** `package.Service` → its client constructor. */
function ctor(pkg: string, service: string): ServiceClientConstructor {
  return (loaded[pkg] as GrpcObject)[service] as ServiceClientConstructor;
}

export const SERVICES = {
  runtime: { ctor: ctor('runtime', 'Runtime'), method: 'Handle' },
  openedge: { ctor: ctor('openedge', 'Function'), method: 'Call' },
  baetyl: { ctor: ctor('baetyl', 'Function'), method: 'Call' },
  faas: { ctor: ctor('faas', 'Function'), method: 'Call' },
} as const;

export type ServiceName = keyof typeof SERVICES;

export type Message = Record<string, unknown> & { Payload?: Buffer };

export interface Outcome {
  err: ServiceError | null;
  reply?: Message;
}

export interface BaetylClients {
  call(service: ServiceName, request: Message, metadata?: Metadata): Promise<Outcome>;
  close(): void;
}

/** Clients of the four services on the platform's gRPC endpoint (`grpc://host:port`). */
export function baetylClients(endpoint: string): BaetylClients {
  const target = endpoint.replace('grpc://', '');
  const clients = new Map<ServiceName, Client>();
  const client = (name: ServiceName): Client => {
    let c = clients.get(name);
    if (c === undefined) {
      c = new SERVICES[name].ctor(target, credentials.createInsecure(), {
        'grpc.max_send_message_length': 16 * 1024 * 1024,
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
      });
      clients.set(name, c);
    }
    return c;
  };
  return {
    call: (service, request, metadata = new Metadata()) =>
      new Promise((resolve) => {
        const c = client(service) as unknown as Record<
          string,
          (req: Message, md: Metadata, cb: (err: ServiceError | null, res?: Message) => void) => void
        >;
        const method = c[SERVICES[service].method] as NonNullable<(typeof c)[string]>;
        method.call(c, request, metadata, (err, res) =>
          resolve({ err, ...(res === undefined ? {} : { reply: res }) }),
        );
      }),
    close: () => {
      for (const c of clients.values()) c.close();
    },
  };
}

/** The JSON a function answered with. */
export function json(outcome: Outcome): Record<string, unknown> {
  if (outcome.err !== null) throw new Error(`the call failed: ${outcome.err.code} ${outcome.err.details}`);
  return JSON.parse((outcome.reply?.Payload ?? Buffer.alloc(0)).toString()) as Record<string, unknown>;
}
