/**
 * A stand-in for an EDGELESS node in tests, from proto/edgeless/guest_api.proto through
 * src/compat/edgeless/guest-api.ts: `HostEmulator` serves `edgeless_api.GuestAPIHost` on 127.0.0.1:0
 * and records every call it gets (method path, decoded request); `GuestClient` drives a guest's
 * `edgeless_api.GuestAPIFunction` (Boot, Init, Cast, Call, Stop) and records the paths it used.
 */
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  guestApiServices,
  type BootData,
  type CallReturn,
  type DelayedEventData,
  type Empty,
  type FunctionInstanceInit,
  type InputEventData,
  type InstanceId,
  type OutputEventData,
  type OutputEventDataRaw,
  type SyncData,
  type TelemetryLogEvent,
} from '../../src/compat/edgeless/guest-api.js';
import { waitFor } from '../helpers/wait.js';

/** Each GuestAPIHost method's request type. */
export interface HostRequests {
  Cast: OutputEventData;
  CastRaw: OutputEventDataRaw;
  Call: OutputEventData;
  CallRaw: OutputEventDataRaw;
  TelemetryLog: TelemetryLogEvent;
  Slf: Empty;
  DelayedCast: DelayedEventData;
  Sync: SyncData;
}
export type HostRpc = keyof HostRequests;
export const HOST_RPCS: readonly HostRpc[] = [
  'Cast',
  'CastRaw',
  'Call',
  'CallRaw',
  'TelemetryLog',
  'Slf',
  'DelayedCast',
  'Sync',
];

export interface HostCall<R extends HostRpc = HostRpc> {
  rpc: R;
  /** The method path the call came in on (`call.getPath()`). */
  path: string;
  request: HostRequests[R];
  /** Date.now() when it arrived. */
  at: number;
}

export interface HostEmulatorOptions {
  /** The answer to Call and CallRaw (default: CALL_RET_REPLY echoing the msg). */
  reply?: (request: OutputEventData | OutputEventDataRaw) => CallReturn;
  /** The answer to Slf (default: an empty id, as upstream answers a container). */
  slf?: () => InstanceId;
}

export class HostEmulator {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** Every call received, oldest first. */
    readonly calls: HostCall[],
  ) {}

  /** The endpoint to announce in Boot, as a node announces it (a URL). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  static async start(options: HostEmulatorOptions = {}): Promise<HostEmulator> {
    const reply = options.reply ?? ((request): CallReturn => ({ type: 'CALL_RET_REPLY', msg: request.msg }));
    const slf = options.slf ?? ((): InstanceId => ({ node_id: '', function_id: '' }));
    const server = new Server();
    const calls: HostCall[] = [];
    const record = <R extends HostRpc>(rpc: R, call: ServerUnaryCall<HostRequests[R], unknown>) => {
      calls.push({ rpc, path: call.getPath(), request: call.request, at: Date.now() } as HostCall);
    };
    const handler =
      <R extends HostRpc>(rpc: R, answer: (request: HostRequests[R]) => unknown) =>
      (call: ServerUnaryCall<HostRequests[R], unknown>, callback: sendUnaryData<unknown>) => {
        record(rpc, call);
        callback(null, answer(call.request));
      };
    const empty = (): Empty => ({});
    const implementation: UntypedServiceImplementation = {
      Cast: handler('Cast', empty),
      CastRaw: handler('CastRaw', empty),
      Call: handler('Call', reply),
      CallRaw: handler('CallRaw', reply),
      TelemetryLog: handler('TelemetryLog', empty),
      Slf: handler('Slf', slf),
      DelayedCast: handler('DelayedCast', empty),
      Sync: handler('Sync', empty),
    };
    server.addService(guestApiServices().guestApiHost, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    return new HostEmulator(server, port, calls);
  }

  /** The recorded calls of one method, oldest first. */
  of<R extends HostRpc>(rpc: R): HostCall<R>[] {
    return this.calls.filter((call): call is HostCall<R> => call.rpc === rpc);
  }

  /** The first recorded call of `rpc` that `match` accepts (waits up to `ms` for it). */
  async next<R extends HostRpc>(
    rpc: R,
    match: (request: HostRequests[R]) => boolean = () => true,
    ms = 10_000,
  ): Promise<HostCall<R>> {
    return waitFor(
      () => `a host ${rpc} (seen: ${JSON.stringify(this.calls.map((c) => c.rpc))})`,
      () => this.of(rpc).find((call) => match(call.request)),
      ms,
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }
}

/** Each GuestAPIFunction method's request and response types. */
interface FunctionRpcs {
  Boot: [BootData, Empty];
  Init: [FunctionInstanceInit, Empty];
  Cast: [InputEventData, Empty];
  Call: [InputEventData, CallReturn];
  Stop: [Empty, Empty];
}
type FunctionRpc = keyof FunctionRpcs;

/** The input a caller gives: every field of a request optional (the encoder fills defaults). */
type Input<T> = { [K in keyof T]?: T[K] | undefined };

/** A client of a guest's GuestAPIFunction at `host:port`. */
export class GuestClient {
  /** The method paths this client called, in order. */
  readonly paths: string[] = [];
  private readonly client: Client;
  private readonly service: ServiceDefinition;

  constructor(address: string) {
    this.client = new Client(address, credentials.createInsecure());
    this.service = guestApiServices().guestApiFunction;
  }

  private unary<R extends FunctionRpc>(
    rpc: R,
    request: Input<FunctionRpcs[R][0]>,
    ms = 10_000,
  ): Promise<FunctionRpcs[R][1]> {
    const method = this.service[rpc] as MethodDefinition<object, FunctionRpcs[R][1]> | undefined;
    if (method === undefined) throw new Error(`GuestAPIFunction has no ${rpc}`);
    this.paths.push(method.path);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + ms },
        (err: ServiceError | null, response?: FunctionRpcs[R][1]) => {
          if (err !== null || response === undefined) reject(err ?? new Error(`${rpc}: no response`));
          else resolve(response);
        },
      );
    });
  }

  boot(request: Input<BootData>): Promise<Empty> {
    return this.unary('Boot', request);
  }
  init(request: Input<FunctionInstanceInit>): Promise<Empty> {
    return this.unary('Init', request);
  }
  cast(request: Input<InputEventData>, ms?: number): Promise<Empty> {
    return this.unary('Cast', request, ms);
  }
  call(request: Input<InputEventData>): Promise<CallReturn> {
    return this.unary('Call', request);
  }
  stop(): Promise<Empty> {
    return this.unary('Stop', {});
  }

  /** The request bytes of a method as this client encodes them (to check field numbers). */
  encode<R extends FunctionRpc>(rpc: R, request: Input<FunctionRpcs[R][0]>): Buffer {
    const method = this.service[rpc] as MethodDefinition<object, unknown> | undefined;
    if (method === undefined) throw new Error(`GuestAPIFunction has no ${rpc}`);
    return method.requestSerialize(request);
  }

  close(): void {
    this.client.close();
  }
}
