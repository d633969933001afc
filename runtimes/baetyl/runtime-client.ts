/**
 * The shim's gRPC client of a Baetyl / OpenEdge runtime: @grpc/grpc-js on one channel to the
 * runtime's loopback address, the methods' (de)serializers from the package definition of protos.ts
 * (built from the protos' JSON descriptor).
 * Every call is one unary call with a deadline; what it ends with is an outcome: the reply's message,
 * a gRPC status the runtime sent, or a failure of the transport (status null).
 */
import { Client, Metadata, credentials, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import { runtimeProtos } from './protos.js';
import type { FunctionMessage } from './service-config.js';

/** The runtime interfaces: the flavors' `Function/Call` and 0.1.1's `Runtime/Handle`. */
export const RUNTIME_METHODS = {
  baetyl: { service: 'baetyl.Function', name: 'Call' },
  openedge: { service: 'openedge.Function', name: 'Call' },
  runtime: { service: 'runtime.Runtime', name: 'Handle' },
} as const;
export type RuntimeMethod = keyof typeof RUNTIME_METHODS;

export type CallOutcome =
  | { ok: true; message: FunctionMessage }
  | { ok: false; status: number; details: string }
  /** No answer of the runtime's: the connection failed, the call ended, the reply over the limit. */
  | { ok: false; status: null; details: string }
  /** A reply that is not the method's message. */
  | { ok: false; status: 'malformed'; details: string };

export interface CallOptions {
  /** Milliseconds the call may take (the deadline grpc-timeout tells the runtime). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The messages as protobufjs reads and writes them (LOADER_OPTIONS: field names as written). */
interface WireMessage {
  ID?: string;
  QOS: number;
  Topic: string;
  Payload: Buffer;
  Timestamp?: string;
  FunctionName: string;
  FunctionInvokeID: string;
}

type Reply = { message: WireMessage } | { malformed: string };

/**
 * Statuses that say the runtime did not answer the call: the channel's own (no connection, the
 * deadline passed, the call was cancelled). RESOURCE_EXHAUSTED is the runtime's (its limit of calls
 * or of the request's size) unless its reply had begun: then the reply was over maxReplyBytes. The
 * others are the runtime's.
 */
const TRANSPORT = new Set<number>([status.CANCELLED, status.DEADLINE_EXCEEDED, status.UNAVAILABLE]);

function toWire(m: FunctionMessage): WireMessage {
  return {
    ID: BigInt.asUintN(64, m.id).toString(),
    QOS: m.qos,
    Topic: m.topic,
    Payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.length),
    Timestamp: BigInt.asIntN(64, m.timestamp).toString(),
    FunctionName: m.functionName,
    FunctionInvokeID: m.functionInvokeId,
  };
}

function fromWire(w: WireMessage): FunctionMessage {
  return {
    id: BigInt(w.ID ?? '0'),
    qos: w.QOS,
    topic: w.Topic,
    payload: w.Payload,
    timestamp: BigInt(w.Timestamp ?? '0'),
    functionName: w.FunctionName,
    functionInvokeId: w.FunctionInvokeID,
  };
}

export class RuntimeClient {
  private readonly client: Client;
  private readonly methods: Record<RuntimeMethod, MethodDefinition<WireMessage, WireMessage>>;

  /** `descriptor`: protos.ts's protoDescriptor; `maxReplyBytes`: the largest reply accepted. */
  constructor(
    address: string,
    descriptor: protobuf.INamespace,
    private readonly maxReplyBytes: number,
  ) {
    const options: ChannelOptions = {
      'grpc.max_receive_message_length': maxReplyBytes,
      'grpc.max_send_message_length': -1,
      // the runtime is on loopback: no proxy from the environment, no retries of a call
      'grpc.enable_http_proxy': 0,
      'grpc.enable_retries': 0,
      // while the runtime starts: dial again soon (grpc's default waits a second after a failure)
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 250,
      // a runtime started again on the same address gets a fresh connection
      'grpc.use_local_subchannel_pool': 1,
    };
    this.client = new Client(address, credentials.createInsecure(), options);
    const protos = runtimeProtos(descriptor);
    const method = (key: RuntimeMethod): MethodDefinition<WireMessage, WireMessage> => {
      const { service, name } = RUNTIME_METHODS[key];
      const definition = (protos[service] as Record<string, unknown> | undefined)?.[name];
      if (definition === undefined) throw new Error(`the runtime protos lack ${service}/${name}`);
      return definition as MethodDefinition<WireMessage, WireMessage>;
    };
    this.methods = { baetyl: method('baetyl'), openedge: method('openedge'), runtime: method('runtime') };
  }

  /** Whether the channel is connected within `ms` milliseconds (it keeps dialling meanwhile). */
  waitForReady(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.client.waitForReady(Date.now() + ms, (err) => resolve(err === undefined));
    });
  }

  call(key: RuntimeMethod, message: FunctionMessage, options: CallOptions): Promise<CallOutcome> {
    const method = this.methods[key];
    const deserialize = (bytes: Buffer): Reply => {
      try {
        return { message: method.responseDeserialize(bytes) };
      } catch (err) {
        return { malformed: (err as Error).message };
      }
    };
    let replyBegun = false;
    return new Promise((resolve) => {
      const call = this.client.makeUnaryRequest<WireMessage, Reply>(
        method.path,
        method.requestSerialize,
        deserialize,
        toWire(message),
        new Metadata(),
        { deadline: Date.now() + Math.max(1, options.timeoutMs) },
        (err: ServiceError | null, reply?: Reply) => {
          options.signal?.removeEventListener('abort', cancel);
          if (err !== null) {
            if (err.code === status.RESOURCE_EXHAUSTED && replyBegun) {
              const limit = `the runtime's reply exceeds the limit of ${this.maxReplyBytes} bytes`;
              return resolve({ ok: false, status: null, details: `${limit} (${err.details})` });
            }
            if (TRANSPORT.has(err.code)) return resolve({ ok: false, status: null, details: err.details });
            return resolve({ ok: false, status: err.code, details: err.details });
          }
          if (reply === undefined || 'malformed' in reply) {
            const details = reply === undefined ? 'no message' : reply.malformed;
            return resolve({ ok: false, status: 'malformed', details });
          }
          resolve({ ok: true, message: fromWire(reply.message) });
        },
      );
      // the reply's headers: a refusal (a status alone) comes without them
      call.on('metadata', () => {
        replyBegun = true;
      });
      const cancel = (): void => call.cancel();
      if (options.signal?.aborted === true) cancel();
      else options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}
