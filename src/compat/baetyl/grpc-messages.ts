/**
 * The messages of Baetyl's runtime interfaces (proto/baetyl/*.proto) as proto-loader decodes them
 * (`keepCase`, `longs: String`, `defaults`: 64-bit integers stay exact decimal strings, bytes are
 * Buffers) and the handler context each one gives: the 1.0 context for `runtime.Message` and
 * `FunctionMessage`, the `Metadata` map for `faas.Message`.
 */
import { randomUUID } from 'node:crypto';

/** `runtime.Message` (OpenEdge 0.1.0–0.1.1). */
export interface RuntimeMessage {
  QOS: number;
  Topic: string;
  Payload: Buffer;
  FunctionName: string;
  FunctionInvokeID: string;
}

/** `openedge.FunctionMessage` and `baetyl.FunctionMessage` (the same fields). */
export interface FunctionMessage extends RuntimeMessage {
  /** uint64 as a decimal string. */
  ID: string;
  /** sint64 (unix seconds) as a decimal string. */
  Timestamp: string;
}

/** `faas.Message` (v2). */
export interface FaasMessage {
  Metadata: Record<string, string>;
  Payload: Buffer;
}

/** The fields a 1.0 context is made of (a `runtime.Message` has no Timestamp). */
export type V1Message = RuntimeMessage & { Timestamp?: string };

/** A message's Timestamp as unix seconds: its own when non-zero, else now. */
export function timestampOf(raw: string | undefined, now: () => number = Date.now): number {
  const given = raw === undefined || raw === '' ? 0 : Number(raw);
  return Number.isFinite(given) && given !== 0 ? given : Math.floor(now() / 1000);
}

/**
 * The 1.0 handler context of a message, as upstream's runtimes build it (`invokeid` is the same as
 * `functionInvokeID`; a message without one gets a new UUID).
 */
export function v1Context(message: V1Message, now: () => number = Date.now): Record<string, unknown> {
  const invokeId = message.FunctionInvokeID === '' ? randomUUID() : message.FunctionInvokeID;
  return {
    messageQOS: message.QOS,
    messageTopic: message.Topic,
    messageTimestamp: timestampOf(message.Timestamp, now),
    functionName: message.FunctionName,
    functionInvokeID: invokeId,
    invokeid: invokeId,
  };
}

/** The reply to a message: the request with its Payload replaced, every other field echoed. */
export function reply<M extends { Payload: Buffer }>(request: M, payload: Buffer): M {
  return { ...request, Payload: payload };
}
