/**
 * A programmable hostile EDGELESS guest for the red-team tests: it serves GuestAPIFunction on
 * 127.0.0.1 (a free port), records every Boot/Init/Cast/Call/Stop, and answers Cast and Call with
 * whatever the test's handlers do (delay, never answer, garbage). `host()` is a GuestAPIHost client
 * of the endpoint the last Boot announced (or any endpoint: a local client with no id of its own).
 */
import * as grpc from '@grpc/grpc-js';
import { guestApiServices, type InstanceId } from '../../src/compat/edgeless/guest-api.js';

type Done = (err: Partial<grpc.StatusObject> | null, value?: unknown) => void;
export interface Seen {
  method: string;
  request: Record<string, unknown>;
  at: number;
}
export interface GuestBehaviour {
  cast?: (req: { src: InstanceId | null; msg: Buffer }, done: Done) => void;
  call?: (req: { src: InstanceId | null; msg: Buffer }, done: Done) => void;
}

type HostClient = grpc.Client &
  Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

export interface HostileGuest {
  url: string;
  seen: Seen[];
  behaviour: GuestBehaviour;
  /** The last Boot's endpoint and id. */
  boot(): { endpoint: string; id: InstanceId } | undefined;
  /** One unary request to a GuestAPIHost (the last Boot's, unless an endpoint is given). */
  host(method: string, request: unknown, endpoint?: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function startHostileGuest(behaviour: GuestBehaviour = {}): Promise<HostileGuest> {
  const services = guestApiServices();
  const seen: Seen[] = [];
  const clients = new Map<string, HostClient>();
  const server = new grpc.Server();
  const record =
    (method: string, answer: (req: never, done: Done) => void) =>
    (rpc: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, done: Done) => {
      seen.push({ method, request: rpc.request, at: Date.now() });
      answer(rpc.request as never, done);
    };
  const guest: HostileGuest = {
    url: '',
    seen,
    behaviour,
    boot() {
      const last = [...seen].reverse().find((s) => s.method === 'Boot');
      if (last === undefined) return undefined;
      return {
        endpoint: last.request['guest_api_host_endpoint'] as string,
        id: last.request['instance_id'] as InstanceId,
      };
    },
    host(method, request, endpoint) {
      const where = endpoint ?? guest.boot()?.endpoint;
      if (where === undefined) return Promise.reject(new Error('not booted'));
      let client = clients.get(where);
      if (client === undefined) {
        const Ctor = grpc.makeGenericClientConstructor(services.guestApiHost, 'GuestAPIHost');
        client = new Ctor(new URL(where).host, grpc.credentials.createInsecure()) as unknown as HostClient;
        clients.set(where, client);
      }
      const c = client;
      return new Promise((resolve, reject) => {
        const fn = c[method];
        if (fn === undefined) return reject(new Error(`no ${method}`));
        fn.call(c, request, (err, res) => (err === null ? resolve(res) : reject(err)));
      });
    },
    async close() {
      for (const c of clients.values()) c.close();
      server.forceShutdown();
      return Promise.resolve();
    },
  };
  server.addService(services.guestApiFunction, {
    Boot: record('Boot', (_r, done) => done(null, {})),
    Init: record('Init', (_r, done) => done(null, {})),
    Stop: record('Stop', (_r, done) => done(null, {})),
    Cast: record('Cast', (r, done) => (guest.behaviour.cast ?? ((_q, d) => d(null, {})))(r, done)),
    Call: record('Call', (r: { src: InstanceId | null; msg: Buffer }, done) =>
      (guest.behaviour.call ?? ((q, d) => d(null, { type: 'CALL_RET_REPLY', msg: q.msg })))(r, done),
    ),
  } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  guest.url = `http://127.0.0.1:${port}`;
  return guest;
}

/** An EDGELESS workflow attaching `url` as member `fn`, its output to a file log `audit`. */
export function attachWorkflow(url: string, initPayload = 'x'): Record<string, unknown> {
  return {
    functions: [
      {
        name: 'fn',
        class_specification: {
          id: 'fn',
          function_type: 'CONTAINER',
          version: '1',
          code: `grpc:${url}`,
          outputs: ['output'],
        },
        output_mapping: { output: 'audit' },
        annotations: { 'init-payload': initPayload },
      },
    ],
    resources: [
      {
        name: 'audit',
        class_type: 'file-log',
        output_mapping: {},
        configurations: { filename: 'audit.log' },
      },
    ],
    annotations: {},
  };
}
