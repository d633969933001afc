/**
 * One call of a Skiff function the way Baetyl's runtime interface calls a function (the gRPC services
 * in grpc.ts and the v2 proxy in proxy.ts): the message's payload as the body, its topic and QoS as
 * the `mqtt-topic`/`mqtt-qos` headers an MQTT rule would set, and the handler's `context` as the JSON
 * header `baetyl-context` (v2: plus `baetyl-generation: 2`). The outcome is typed: the result's body,
 * the function's own error (a bridge's 500 with `baetyl-error`, or a native function's error status)
 * or the platform's (a SkiffError: not found, timeout, refused…).
 */
import { randomUUID } from 'node:crypto';
import type { HeaderPairs, Result, TriggerKind } from '../../model/invocation.js';
import { TOKEN_HEADERS } from '../../invoke/private-access.js';
import { toSkiffError, type SkiffError } from '../../shared/errors.js';
import type { TriggerContext } from '../../triggers/types.js';
import { topicHeader } from '../../triggers/mqtt-dispatch.js';

export { topicHeader };

/** The header that carries the handler's context (JSON); the bridges hand it to the code as it is. */
export const CONTEXT_HEADER = 'baetyl-context';
/** `2` for a v2 call: an empty payload stays empty bytes instead of becoming `{}`. */
export const GENERATION_HEADER = 'baetyl-generation';
/** Set by a bridge on a user error (`UserCodeInvoke`, `UserCodeReturn`): the body is the error text. */
export const ERROR_HEADER = 'baetyl-error';

export interface BaetylCall {
  /** The Skiff function. */
  fn: string;
  payload: Buffer;
  /** The handler's context, sent as JSON. */
  context: Record<string, unknown>;
  /** 1.0 calls: the message's topic and QoS, as an MQTT rule's headers. */
  message?: { topic: string; qos: number };
  /** v2 (the proxy and `faas.Function/Call`). */
  generation2?: boolean;
  /** `grpc` or `http`: what a private function's token check applies (src/invoke/private-access.ts). */
  trigger: Extract<TriggerKind, 'grpc' | 'http'>;
  /** The caller's token headers, for a private function. */
  tokens: HeaderPairs;
  /** Epoch ms, or 0 for the function's own timeout. */
  deadline: number;
}

export type CallOutcome =
  | { ok: true; payload: Buffer }
  /** The function failed: `text` is its error text (the bridge's details, or the body of an error status). */
  | { ok: false; kind: 'function'; text: string }
  /** The platform refused or failed the call. */
  | { ok: false; kind: 'platform'; error: SkiffError };

/** The most of a native function's error body quoted as error text. */
const MAX_ERROR_TEXT = 4096;

/** The caller's token headers (from gRPC metadata or HTTP headers) and nothing else of them. */
export function tokenHeaders(entries: Iterable<[string, unknown]>): HeaderPairs {
  const out: HeaderPairs = [];
  for (const [raw, value] of entries) {
    const key = raw.toLowerCase();
    if (!(TOKEN_HEADERS as readonly string[]).includes(key) && key !== 'authorization') continue;
    const text = Array.isArray(value) ? value[0] : value;
    if (typeof text === 'string') out.push([key, text]);
  }
  return out;
}

/**
 * The context as a header value: JSON with every character outside printable ASCII escaped (`\uXXXX`),
 * the same object to a JSON parser. A raw one (a topic or a Metadata value in Chinese, a DEL) is no
 * valid header value: an http runtime's bridge handing it to node:http threw and took the whole
 * instance down, and a Node function's `Headers` dropped the header.
 */
export function contextHeader(context: Record<string, unknown>): string {
  return JSON.stringify(context).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The headers of the invocation (the caller's token headers last, never replacing ours). */
export function callHeaders(call: BaetylCall): HeaderPairs {
  const headers: HeaderPairs = [
    ['content-type', 'application/octet-stream'],
    [CONTEXT_HEADER, contextHeader(call.context)],
  ];
  if (call.message !== undefined) {
    headers.push(['mqtt-topic', topicHeader(call.message.topic)], ['mqtt-qos', String(call.message.qos)]);
  }
  if (call.generation2 === true) headers.push([GENERATION_HEADER, '2']);
  return [...headers, ...call.tokens];
}

/** What a function's Result means to a Baetyl caller. */
export function outcomeOf(result: Result): CallOutcome {
  if (result.status >= 200 && result.status < 400) return { ok: true, payload: result.body };
  const text = result.body.subarray(0, MAX_ERROR_TEXT).toString('utf8');
  const fromBridge = result.headers.some(([key]) => key.toLowerCase() === ERROR_HEADER);
  return { ok: false, kind: 'function', text: fromBridge || text !== '' ? text : `status ${result.status}` };
}

/** Whether a live function of this name exists (else the caller answers its own "not found"). */
export function exists(ctx: TriggerContext, fn: string): boolean {
  try {
    ctx.check(fn);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a live function of this name has flavor `baetyl` (a v2 service of itself, services.ts): the
 * names are gathered once and again after each deploy or delete, not at every call.
 */
export function baetylFunctions(ctx: TriggerContext): (name: string) => boolean {
  let names: Set<string> | undefined;
  ctx.onFunctionsChanged(() => {
    names = undefined;
  });
  return (name) => {
    names ??= new Set(ctx.liveFunctions().flatMap((f) => (f.spec.flavor === 'baetyl' ? [f.name] : [])));
    return names.has(name);
  };
}

/** Invokes the function; never rejects. */
export async function callFunction(ctx: TriggerContext, call: BaetylCall): Promise<CallOutcome> {
  try {
    const result = await ctx.invoke({
      id: randomUUID(),
      function: call.fn,
      trigger: call.trigger,
      method: 'POST',
      path: '/',
      query: '',
      headers: callHeaders(call),
      body: call.payload,
      deadline: call.deadline,
      host: 'localhost',
    });
    return outcomeOf(result);
  } catch (err) {
    return { ok: false, kind: 'platform', error: toSkiffError(err) };
  }
}
