/**
 * What the shim hands a Baetyl / OpenEdge runtime process, as the function manager did: the service
 * configuration its `-c` argument names, the address and name variables, and per invocation the
 * FunctionMessage built from the INVOKE (the `baetyl-context` header when a Baetyl caller sent one,
 * else the MQTT headers of Skiff's trigger).
 */
import type { HeaderPairs, InitMeta, InvokeMeta } from '../../src/executor/protocol/messages.js';

/** The message of one call: the fields of `baetyl.FunctionMessage` (0.1.1's Message has no ID, Timestamp). */
export interface FunctionMessage {
  id: bigint;
  qos: number;
  topic: string;
  payload: Uint8Array;
  /** Unix seconds. */
  timestamp: bigint;
  functionName: string;
  functionInvokeId: string;
}

export interface ServiceConfig {
  name: string;
  server: {
    address: string;
    /** The graceful stop of the runtime's server, in nanoseconds (a Go duration, as upstream writes). */
    timeout: number;
    message: { length: { max: number } };
    workers: { max: number };
    concurrent: { max: number };
  };
  functions: { name: string; handler: string; codedir: string }[];
  logger: { level: string };
}

/** Threads and concurrent calls of the runtime's server. */
export const RUNTIME_WORKERS = 8;

export interface ServiceOptions {
  address: string;
  timeoutMs: number;
  maxMessageBytes: number;
}

/**
 * The configuration file's content. Logging: no `path`, so the runtime's logger writes what it
 * reports to its stderr, which the platform keeps as the function's log (a file inside the sandbox's
 * private /tmp would be lost with the instance).
 */
export function serviceConfig(init: InitMeta, options: ServiceOptions): ServiceConfig {
  return {
    name: init.function,
    server: {
      address: options.address,
      timeout: options.timeoutMs * 1_000_000,
      message: { length: { max: options.maxMessageBytes } },
      // The platform sends one call at a time (the flavors' maxConcurrency), but a call it gave up on
      // (a timeout) may still run in the runtime, which gRPC cannot stop: room for a few of those.
      workers: { max: RUNTIME_WORKERS },
      concurrent: { max: RUNTIME_WORKERS },
    },
    functions: [{ name: init.function, handler: init.handler, codedir: init.codeDir }],
    logger: { level: 'info' },
  };
}

/** The variables every generation of runtime reads its address and instance name from. */
export function serviceEnv(name: string, address: string): Record<string, string> {
  return {
    BAETYL_SERVICE_INSTANCE_ADDRESS: address,
    OPENEDGE_SERVICE_INSTANCE_ADDRESS: address,
    OPENEDGE_SERVICE_ADDRESS: address,
    BAETYL_SERVICE_INSTANCE_NAME: name,
    OPENEDGE_SERVICE_INSTANCE_NAME: name,
    OPENEDGE_SERVICE_NAME: name,
  };
}

function header(headers: HeaderPairs, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

function contextHeader(headers: HeaderPairs): Record<string, unknown> | undefined {
  const raw = header(headers, 'baetyl-context');
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function qosOf(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : 0;
}

function topicOf(raw: string | undefined): string {
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function secondsOf(value: unknown, now: number): bigint {
  return typeof value === 'number' && Number.isSafeInteger(value)
    ? BigInt(value)
    : BigInt(Math.floor(now / 1000));
}

/**
 * The request message of one invocation. `FunctionName` is always the function's own name, the one
 * the configuration file lists (the runtime looks its handler up by it); the other fields come from
 * `baetyl-context` when present, else from `mqtt-qos` / `mqtt-topic`, now and the invocation id.
 */
export function functionMessage(
  id: bigint,
  functionName: string,
  meta: InvokeMeta,
  payload: Uint8Array,
  now = Date.now(),
): FunctionMessage {
  const ctx = contextHeader(meta.headers);
  const invokeId =
    typeof ctx?.['functionInvokeID'] === 'string' && ctx['functionInvokeID'] !== ''
      ? ctx['functionInvokeID']
      : meta.invocationId;
  return {
    id,
    qos: qosOf(ctx === undefined ? header(meta.headers, 'mqtt-qos') : ctx['messageQOS']),
    topic:
      ctx === undefined
        ? topicOf(header(meta.headers, 'mqtt-topic'))
        : typeof ctx['messageTopic'] === 'string'
          ? ctx['messageTopic']
          : '',
    payload,
    timestamp: secondsOf(ctx?.['messageTimestamp'], now),
    functionName,
    functionInvokeId: invokeId,
  };
}
