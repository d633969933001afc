/**
 * The OpenEdge / Baetyl flavors of the Node bridge (INIT `flavor: "baetyl"` or `"openedge"`, the same
 * here; docs/compat/baetyl/flavor.md): `exports.handler = (event, context, callback) => ...` as
 * Baetyl's Node runtime calls it. The event is the body parsed as JSON, else a Buffer; the context
 * comes from the `baetyl-context` header or is built from the MQTT headers; the result becomes the
 * payload Baetyl would publish, and a failure the text upstream's runtime puts in its gRPC error.
 * runtimes/python/skiff_baetyl.py holds the same rules for Python.
 */
import { describeThrown } from '../shared/thrown.js';
import { exportedMember } from '../../src/model/node-handler.js';
import type { HeaderPairs, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { runCallbackStyle, type NodeCallback } from './callback-handler.js';
import type { BridgeResult } from './result.js';

export type BaetylCallback = NodeCallback;
export type BaetylContext = Record<string, unknown>;
export type BaetylHandler = (event: unknown, context: BaetylContext, callback: BaetylCallback) => unknown;

/** The header an error result carries: which of upstream's two failures it is. */
export const ERROR_HEADER = 'baetyl-error';
/** The context a caller hands over as it is (a JSON object), and the v2 marker. */
const CONTEXT_HEADER = 'baetyl-context';
const GENERATION_HEADER = 'baetyl-generation';
/** Upstream's Node runtime: `util.format(errFormat, "('[UserCodeInvoke]', " + err + ")")`. */
const ERROR_FORMAT = 'Exception calling application: ';

/** The handler the module exports under `name`, or undefined. */
export function resolveBaetylHandler(mod: Record<string, unknown>, name: string): BaetylHandler | undefined {
  const candidate = exportedMember(mod, name);
  return typeof candidate === 'function' ? (candidate as BaetylHandler) : undefined;
}

/** The message INIT fails with when the module has no such function. */
export function noHandler(file: string, name: string): string {
  return `${file} does not export a function ${name} (exports.${name} = (event, context, callback) => ...)`;
}

function header(pairs: HeaderPairs, name: string): string | undefined {
  for (const [key, value] of pairs) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** The event: the body parsed as JSON, else the bytes; empty → `{}` (generation 2: empty bytes). */
export function baetylEvent(body: Buffer, headers: HeaderPairs): unknown {
  if (body.length === 0) return header(headers, GENERATION_HEADER)?.trim() === '2' ? Buffer.alloc(0) : {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return Buffer.from(body); // raw data, not JSON
  }
}

function decodedTopic(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The context: the `baetyl-context` header's JSON object as it is, else Baetyl 1.0's fields from the
 * MQTT headers, INIT's function name and the invocation id.
 */
export function baetylContext(meta: InvokeMeta, functionName: string, nowMs = Date.now()): BaetylContext {
  const given = header(meta.headers, CONTEXT_HEADER);
  if (given !== undefined) {
    try {
      const parsed = JSON.parse(given) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as BaetylContext;
    } catch {
      // not JSON: the context is built as for a call without it
    }
  }
  const qos = header(meta.headers, 'mqtt-qos')?.trim() ?? '';
  return {
    messageQOS: /^\d{1,9}$/.test(qos) ? Number(qos) : 0,
    messageTopic: decodedTopic(header(meta.headers, 'mqtt-topic')),
    messageTimestamp: Math.floor(nowMs / 1000),
    functionName,
    functionInvokeID: meta.invocationId,
    invokeid: meta.invocationId,
  };
}

/** `err.toString()` as upstream formats it, whatever was passed (its toString may throw). */
function errorText(error: unknown): string {
  try {
    const text = (error as { toString(): unknown }).toString();
    if (typeof text === 'string') return text;
  } catch {
    // described below
  }
  return describeThrown(error).message;
}

/** A failure as upstream's gRPC error details: `Exception calling application: ('[Kind]', text)`. */
export function failure(kind: 'UserCodeInvoke' | 'UserCodeReturn', error: unknown): BridgeResult {
  const text = `${ERROR_FORMAT}('[${kind}]', ${errorText(error)})`;
  return {
    status: 500,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      [ERROR_HEADER, kind],
    ],
    body: Buffer.from(text),
  };
}

/**
 * The payload: nothing for `undefined`, `null` and `""` (a filter; `0` and `false` are published,
 * unlike upstream's loose test), a Buffer as it is, anything else its JSON text. A value JSON cannot
 * hold (a cycle, a BigInt, a function) fails as upstream's `[UserCodeReturn]`.
 */
export function baetylResult(value: unknown): BridgeResult {
  if (value === undefined || value === null || value === '') {
    return { status: 200, headers: [], body: Buffer.alloc(0) };
  }
  if (Buffer.isBuffer(value)) {
    return { status: 200, headers: [['content-type', 'application/octet-stream']], body: Buffer.from(value) };
  }
  try {
    // as upstream: Buffer.from(undefined) refuses the JSON of a function or a symbol
    const body = Buffer.from(JSON.stringify(value) as string);
    return { status: 200, headers: [['content-type', 'application/json']], body };
  } catch (err) {
    return failure('UserCodeReturn', err);
  }
}

/**
 * Runs the handler once. A handler of three or more parameters answers through the callback (a
 * returned promise's value other than undefined, or its rejection, counts too; a plain return value is
 * ignored, as `(e, c, cb) => setTimeout(...)` returns a timer); one of fewer answers with its return
 * value or promise (or the callback, if it calls one). The first answer wins. Never rejects.
 */
export async function invokeBaetyl(
  handler: BaetylHandler,
  meta: InvokeMeta,
  body: Buffer,
  functionName: string,
  signal: AbortSignal,
  report: (text: string) => void,
): Promise<BridgeResult | 'cancelled'> {
  const outcome = await runCallbackStyle(
    (callback) => handler(baetylEvent(body, meta.headers), baetylContext(meta, functionName), callback),
    { takesCallback: handler.length >= 3, plainReturnAnswers: false },
    signal,
  );
  if (outcome === 'cancelled') return outcome;
  if ('error' in outcome) {
    const { message, stack } = describeThrown(outcome.error);
    report(stack ?? message);
    return failure('UserCodeInvoke', outcome.error);
  }
  return baetylResult(outcome.value);
}
