/**
 * EDGELESS's guest API (proto/edgeless/guest_api.proto) as @grpc/proto-loader loads it: the service a
 * function instance serves (`edgeless_api.GuestAPIFunction`: Boot, Init, Cast, Call, Stop), the one
 * the node serves (`edgeless_api.GuestAPIHost`: Cast, CastRaw, Call, CallRaw, TelemetryLog, Slf,
 * DelayedCast, Sync), and the TypeScript shapes of their messages as the loader decodes them.
 *
 * Loader options: field names as written (`keepCase`), `uint64` as exact decimal strings (`longs:
 * String`), bytes as Buffers, enums as their names (`enums: String`), scalar defaults filled in
 * (`defaults`). A message field that is absent decodes as `null` (how DelayedCast tells a missing
 * `metadata` from an empty one). An enum number the proto does not name decodes as that number (a
 * guest's `CallReturn.type` 3), so enum fields are typed as name or number. On encoding, a Buffer,
 * an enum name or its number are all accepted.
 */
import path from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options as LoaderOptions, type PackageDefinition } from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../../shared/paths.js';

export const EDGELESS_PROTO_DIR = path.join(PACKAGE_ROOT, 'proto', 'edgeless');
export const EDGELESS_PROTO_FILE = 'guest_api.proto';
export const EDGELESS_LOADER_OPTIONS: LoaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  includeDirs: [EDGELESS_PROTO_DIR],
};

/** The fully qualified service names (method paths are `/<service>/<Rpc>`). */
export const FUNCTION_SERVICE = 'edgeless_api.GuestAPIFunction';
export const HOST_SERVICE = 'edgeless_api.GuestAPIHost';

export type CallRetTypeName = 'CALL_RET_NO_REPLY' | 'CALL_RET_REPLY' | 'CALL_RET_ERR';
/** A name, or a number the proto does not name (decoding keeps unknown numbers as numbers). */
export type CallRetType = CallRetTypeName | number;
export type TelemetryLogLevelName = 'LOG_ERROR' | 'LOG_WARN' | 'LOG_INFO' | 'LOG_DEBUG' | 'LOG_TRACE';
export type TelemetryLogLevel = TelemetryLogLevelName | number;

/** `google.protobuf.Empty`. */
export type Empty = Record<string, never>;

/** Hyphenated UUID strings. */
export interface InstanceId {
  node_id: string;
  function_id: string;
}

export interface EventSerializedMetadata {
  trace_id: Buffer;
  span_id: Buffer;
}

export interface BootData {
  guest_api_host_endpoint: string;
  instance_id: InstanceId | null;
}

export interface FunctionInstanceInit {
  init_payload: string;
  /** Field 10 on the wire. */
  serialized_state: Buffer;
}

export interface InputEventData {
  src: InstanceId | null;
  msg: Buffer;
}

export interface CallReturn {
  type: CallRetType;
  msg: Buffer;
}

export interface OutputEventData {
  originator: InstanceId | null;
  alias: string;
  msg: Buffer;
}

export interface OutputEventDataRaw {
  originator: InstanceId | null;
  dst: InstanceId | null;
  msg: Buffer;
}

export interface TelemetryLogEvent {
  originator: InstanceId | null;
  log_level: TelemetryLogLevel;
  target: string;
  msg: string;
}

export interface DelayedEventData {
  originator: InstanceId | null;
  alias: string;
  msg: Buffer;
  /** uint64 milliseconds as a decimal string. */
  delay: string;
  /** null when the sender left it out (runtime-python does). */
  metadata: EventSerializedMetadata | null;
}

export interface SyncData {
  originator: InstanceId | null;
  serialized_state: Buffer;
}

/** The guest API's package definition (every message and both services). */
export function loadGuestApi(): PackageDefinition {
  return loadSync(EDGELESS_PROTO_FILE, EDGELESS_LOADER_OPTIONS);
}

export interface GuestApiServices {
  /** Served by a function instance; Skiff is its client. */
  guestApiFunction: ServiceDefinition;
  /** Served by Skiff; a function instance is its client. */
  guestApiHost: ServiceDefinition;
}

/** Both services' definitions, for `server.addService` and `makeGenericClientConstructor`. */
export function guestApiServices(definition: PackageDefinition = loadGuestApi()): GuestApiServices {
  const service = (name: string): ServiceDefinition => {
    const found = definition[name];
    if (found === undefined || 'format' in found) {
      throw new Error(`${EDGELESS_PROTO_FILE} does not define the service ${name}`);
    }
    return found as ServiceDefinition;
  };
  return { guestApiFunction: service(FUNCTION_SERVICE), guestApiHost: service(HOST_SERVICE) };
}
