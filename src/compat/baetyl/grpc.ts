/**
 * Baetyl's runtime interfaces served on Skiff's gRPC server for Skiff's functions, every generation's
 * (proto/baetyl/): `runtime.Runtime/Handle` (OpenEdge 0.1.0–0.1.1), `openedge.Function/Call`
 * (0.1.2–0.1.5), `baetyl.Function/Call` (0.1.6–1.0.x) and `faas.Function/Call` (v2). A message names a
 * live Skiff function (`FunctionName`; v2: `Metadata.functionName`, else the first function of
 * `Metadata.serviceName`), which gets its Payload as the body and its context as `baetyl-context`
 * (call.ts); the reply is the request with Payload replaced by the result.
 *
 * Errors are what upstream's runtimes answer: UNKNOWN with `function not found` (v2: `the function
 * doesn't found`, `no functions exist`), UNKNOWN with the bridge's error text for a user error, and
 * UNKNOWN with the message for the platform's errors, except those a gRPC client acts on: a private
 * function's refusal (as Skiff's own service: UNAUTHENTICATED, PERMISSION_DENIED), a message over
 * `compat.baetyl.maxMessageBytes` (RESOURCE_EXHAUSTED, grpc's own text), a context over
 * MAX_CONTEXT_CHARS (INVALID_ARGUMENT) and a platform shutting down (UNAVAILABLE). The trailing metadata `skiff-error-code` names Skiff's code of a platform error.
 */
import path from 'node:path';
import {
  Metadata,
  status as GrpcStatus,
  type handleUnaryCall,
  type MethodDefinition,
  type Server,
  type ServiceDefinition,
  type StatusObject,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type Options as LoaderOptions, type PackageDefinition } from '@grpc/proto-loader';
import { FailureLog } from '../../shared/failure-log.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import type { SkiffError } from '../../shared/errors.js';
import { ERROR_CODE_KEY, grpcStatusOf } from '../../triggers/grpc-errors.js';
import { deadlineMs } from '../../triggers/grpc-messages.js';
import type { GrpcService, TriggerContext } from '../../triggers/types.js';
import {
  baetylFunctions,
  callFunction,
  exists,
  tokenHeaders,
  type BaetylCall,
  type CallOutcome,
} from './call.js';
import {
  reply,
  v1Context,
  type FaasMessage,
  type FunctionMessage,
  type RuntimeMessage,
  type V1Message,
} from './grpc-messages.js';
import { resolveV2 } from './services.js';

export const BAETYL_PROTO_DIR = path.join(PACKAGE_ROOT, 'proto', 'baetyl');
export const BAETYL_PROTOS = ['runtime.proto', 'openedge.proto', 'baetyl.proto', 'faas.proto'].map((f) =>
  path.join(BAETYL_PROTO_DIR, f),
);
/** Field names as written, 64-bit integers as exact decimal strings, bytes as Buffers, defaults set. */
export const BAETYL_LOADER_OPTIONS: LoaderOptions = { keepCase: true, longs: String, defaults: true };

/** Upstream's texts. */
export const NOT_FOUND_V1 = 'function not found';
export const NOT_FOUND_V2 = "the function doesn't found";
export const NO_FUNCTIONS_V2 = 'no functions exist';

export interface BaetylGrpcOptions {
  /** `compat.baetyl.maxMessageBytes`: the most a request or a reply of these methods may hold. */
  maxMessageBytes: number;
  /** A recorded v2 service's functions (services.ts). */
  lookupService(service: string): readonly string[] | undefined;
}

type Failure = Partial<StatusObject>;

/**
 * The most characters the fields that make the context header (a v1 message's Topic and
 * FunctionInvokeID, a v2 message's Metadata keys and values) may hold: what Skiff's own gRPC service
 * lets a call's headers hold. Upstream's contexts are a few names and ids; a message of megabytes of
 * Metadata cost a second of the event loop to copy and a header no function's HTTP server accepts.
 */
export const MAX_CONTEXT_CHARS = 64 * 1024;

function contextTooLarge(): Failure {
  return failure(
    GrpcStatus.INVALID_ARGUMENT,
    `the message's context (Topic, FunctionInvokeID, Metadata) holds more than ${MAX_CONTEXT_CHARS} characters`,
    'SKIFF_E_INVALID_REQUEST',
  );
}

/** Whether a Metadata map's keys and values hold more than MAX_CONTEXT_CHARS (stops counting there). */
function metadataTooLarge(metadata: Record<string, string>): boolean {
  let chars = 0;
  for (const key in metadata) {
    chars += key.length + (metadata[key]?.length ?? 0) + 6;
    if (chars > MAX_CONTEXT_CHARS) return true;
  }
  return false;
}

const failure = (code: GrpcStatus, details: string, skiffCode?: string): Failure => {
  if (skiffCode === undefined) return { code, details };
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, skiffCode);
  return { code, details, metadata };
};

/** The gRPC error of a platform error (see the header comment). */
function platformFailure(error: SkiffError, notFound: string): Failure {
  switch (error.code) {
    case 'SKIFF_E_FUNCTION_NOT_FOUND':
      return failure(GrpcStatus.UNKNOWN, notFound, error.code);
    case 'SKIFF_E_UNAUTHORIZED':
    case 'SKIFF_E_FORBIDDEN':
    case 'SKIFF_E_PAYLOAD_TOO_LARGE':
    case 'SKIFF_E_SHUTTING_DOWN':
      return failure(grpcStatusOf(error.code), error.message, error.code);
    default:
      return failure(GrpcStatus.UNKNOWN, error.message, error.code);
  }
}

/** A unary method of these services: the size check, the call and the reply's size check. */
interface Method<M> {
  /** The request's call, or the failure to answer without calling. */
  prepare(request: M, metadata: Metadata, deadline: number): BaetylCall | Failure;
  /** What an unknown function is called in the failure. */
  notFound: string;
}

function unary<M extends { Payload: Buffer }>(
  ctx: TriggerContext,
  options: BaetylGrpcOptions,
  sizes: WeakMap<object, number>,
  serialize: (reply: M) => Buffer,
  method: Method<M>,
): handleUnaryCall<M, M> {
  const max = options.maxMessageBytes;
  const failures = new FailureLog(ctx.logger);
  return (call, callback) => {
    const size = sizes.get(call.request) ?? 0;
    if (size > max) {
      callback(
        failure(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${size} vs. ${max})`),
      );
      return;
    }
    const prepared = method.prepare(call.request, call.metadata, deadlineMs(call.getDeadline()));
    if (!('fn' in prepared)) {
      callback(prepared);
      return;
    }
    void callFunction(ctx, prepared).then((outcome: CallOutcome) => {
      if (!outcome.ok) {
        if (outcome.kind === 'function') {
          callback(failure(GrpcStatus.UNKNOWN, outcome.text));
          return;
        }
        failures.failed(outcome.error, outcome.error, { fn: prepared.fn }, 'Baetyl gRPC call failed');
        callback(platformFailure(outcome.error, method.notFound));
        return;
      }
      const answer = reply(call.request, outcome.payload);
      // the payload alone is the bulk of a reply: serialise to measure only when it may be too big
      if (outcome.payload.length + size > max) {
        const bytes = serialize(answer).length;
        if (bytes > max) {
          callback(
            failure(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${bytes} vs. ${max})`),
          );
          return;
        }
      }
      callback(null, answer);
    });
  };
}

/** `runtime.Runtime/Handle` and the two `Function/Call`s of 1.0: the message names the function. */
function v1Method<M extends V1Message>(ctx: TriggerContext): Method<M> {
  return {
    notFound: NOT_FOUND_V1,
    prepare(request, metadata, deadline) {
      const fn = request.FunctionName;
      if (!exists(ctx, fn)) return failure(GrpcStatus.UNKNOWN, NOT_FOUND_V1);
      if (request.Topic.length + request.FunctionInvokeID.length > MAX_CONTEXT_CHARS) {
        return contextTooLarge();
      }
      return {
        fn,
        payload: request.Payload,
        context: v1Context(request),
        message: { topic: request.Topic, qos: request.QOS },
        trigger: 'grpc',
        tokens: tokenHeaders(Object.entries(metadata.getMap())),
        deadline,
      };
    },
  };
}

/** `faas.Function/Call`: `Metadata.functionName`, else the first function of `Metadata.serviceName`. */
function v2Method(ctx: TriggerContext, options: BaetylGrpcOptions): Method<FaasMessage> {
  const isBaetylFunction = baetylFunctions(ctx);
  return {
    notFound: NOT_FOUND_V2,
    prepare(request, metadata, deadline) {
      if (metadataTooLarge(request.Metadata)) return contextTooLarge();
      const named = request.Metadata['functionName'] ?? '';
      let fn = named;
      if (named === '') {
        const service = request.Metadata['serviceName'] ?? '';
        const target = resolveV2(options.lookupService, isBaetylFunction, service, '');
        if (!target.ok) return failure(GrpcStatus.UNKNOWN, NO_FUNCTIONS_V2);
        fn = target.fn;
      }
      if (!exists(ctx, fn)) return failure(GrpcStatus.UNKNOWN, NOT_FOUND_V2);
      return {
        fn,
        payload: request.Payload,
        context: { ...request.Metadata },
        generation2: true,
        trigger: 'grpc',
        tokens: tokenHeaders(Object.entries(metadata.getMap())),
        deadline,
      };
    },
  };
}

/** The service definition with each request's size recorded (for the limit of these methods). */
function measured(service: ServiceDefinition, sizes: WeakMap<object, number>): ServiceDefinition {
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, method] of Object.entries(service) as [string, MethodDefinition<object, object>][]) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        const request = method.requestDeserialize(bytes);
        sizes.set(request, bytes.length);
        return request;
      },
    };
  }
  return out as ServiceDefinition;
}

/** The four services as one GrpcService for the gRPC trigger (DialectParts.grpcServices). */
export function baetylGrpcService(options: BaetylGrpcOptions): GrpcService {
  return (server: Server, ctx: TriggerContext): PackageDefinition => {
    const definition = loadSync(BAETYL_PROTOS, BAETYL_LOADER_OPTIONS);
    const sizes = new WeakMap<object, number>();
    const add = <M extends { Payload: Buffer }>(name: string, rpc: string, method: Method<M>) => {
      const service = definition[name] as ServiceDefinition | undefined;
      const def = service?.[rpc] as MethodDefinition<M, M> | undefined;
      if (service === undefined || def === undefined)
        throw new Error(`proto/baetyl does not define ${name}/${rpc}`);
      const implementation: UntypedServiceImplementation = {
        [rpc]: unary(ctx, options, sizes, def.responseSerialize, method),
      };
      server.addService(measured(service, sizes), implementation);
    };
    add<RuntimeMessage>('runtime.Runtime', 'Handle', v1Method(ctx));
    add<FunctionMessage>('openedge.Function', 'Call', v1Method(ctx));
    add<FunctionMessage>('baetyl.Function', 'Call', v1Method(ctx));
    add<FaasMessage>('faas.Function', 'Call', v2Method(ctx, options));
    return definition;
  };
}

/**
 * Start-up warnings: the gRPC trigger is off (no services then), or its own message limit is below
 * this dialect's (the server refuses a bigger message before these methods see it).
 */
export function grpcNotes(
  grpc: { enabled: boolean; maxMessageBytes: number },
  baetylMaxBytes: number,
): string[] {
  if (!grpc.enabled) {
    return [
      `⚠ compat.baetyl: the gRPC trigger is off (grpc.enabled), so Baetyl's gRPC services are not served`,
    ];
  }
  const grpcMaxBytes = grpc.maxMessageBytes;
  if (baetylMaxBytes <= grpcMaxBytes) return [];
  return [
    `⚠ compat.baetyl.maxMessageBytes is ${baetylMaxBytes} but the gRPC server accepts at most grpc.maxMessageBytes = ${grpcMaxBytes}: Baetyl's gRPC calls are refused above that; raise grpc.maxMessageBytes`,
  ];
}
