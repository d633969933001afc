/**
 * The Scaleway flavor of the Node bridge (docs/compat/scaleway.md): loading `handle(event, context,
 * callback)` from a CommonJS or ESM module, and one run of it, whose first result wins (the return
 * value, the resolved promise, or the callback). Code that cannot load does not fail the start: every
 * invocation answers upstream's 500 instead, as a Scaleway function with a wrong HANDLER does.
 */
import { describeThrown } from '../shared/thrown.js';
import { exportedMember } from '../../src/model/node-handler.js';
import type { InvokeMeta } from '../../src/executor/protocol/messages.js';
import { runCallbackStyle, type NodeCallback } from './callback-handler.js';
import type { BridgeResult } from './result.js';
import {
  LOAD_FAILED,
  NOT_A_FUNCTION,
  executionFailed,
  fromNodeResult,
  plain,
  scalewayEvent,
  type ScalewayContext,
} from './scaleway-event.js';

export type ScalewayCallback = NodeCallback;
export type ScalewayHandler = (
  event: unknown,
  context: ScalewayContext,
  callback: ScalewayCallback,
) => unknown;

/** A loaded handler, or the 500 every invocation answers because it could not be loaded. */
export type ScalewayLoad = { handler: ScalewayHandler } | { failure: string };

/**
 * The export named `name` of a module loaded with import(): an ESM export, or a property of a CommonJS
 * module's `module.exports` (Node's default export of it) when Node did not list it as a named export.
 */
export function resolveScalewayHandler(mod: Record<string, unknown>, name: string): ScalewayLoad {
  const candidate = exportedMember(mod, name);
  return typeof candidate === 'function'
    ? { handler: candidate as ScalewayHandler }
    : { failure: NOT_A_FUNCTION };
}

/** Loads the module; a load that throws (missing file or dependency, an error at load) is a failure. */
export async function loadScaleway(
  load: () => Promise<Record<string, unknown>>,
  name: string,
  report: (text: string) => void,
): Promise<ScalewayLoad> {
  try {
    return resolveScalewayHandler(await load(), name);
  } catch (err) {
    const { message, stack } = describeThrown(err);
    report(stack ?? message);
    return { failure: LOAD_FAILED };
  }
}

/** Upstream's legacy trigger header (lower-cased), and its answer for a trigger that is not HTTP. */
const TRIGGER_HEADER = 'scw_trigger_type';
const EXECUTED_PROPERLY = 'executed properly';

/** The message of a failure: an Error's message, a string as it is, anything else described. */
function messageOf(error: unknown): string {
  if (typeof error === 'string') return error;
  return describeThrown(error).message;
}

/**
 * Runs the handler once. The first of its return value, resolved promise or callback wins; a returned
 * (or resolved) `undefined` from a handler that takes the callback waits for it. Never rejects.
 */
export async function invokeScaleway(
  load: ScalewayLoad,
  meta: InvokeMeta,
  body: Buffer,
  context: ScalewayContext,
  signal: AbortSignal,
  report: (text: string) => void,
): Promise<BridgeResult | 'cancelled'> {
  if ('failure' in load) return plain(500, load.failure);
  const { handler } = load;
  // upstream's legacy trigger header: `mqtt` hands the handler the raw body and answers for it
  const mqtt = meta.headers.some(
    ([name, value]) => name.toLowerCase() === TRIGGER_HEADER && value === 'mqtt',
  );
  const outcome = await runCallbackStyle(
    (callback) => handler(mqtt ? body.toString('utf8') : scalewayEvent(meta, body), context, callback),
    { takesCallback: handler.length >= 3, plainReturnAnswers: true },
    signal,
  );
  if (outcome === 'cancelled') return outcome;
  if ('error' in outcome) {
    const { message, stack } = describeThrown(outcome.error);
    report(stack ?? message);
    return executionFailed(messageOf(outcome.error));
  }
  if (mqtt) return plain(200, EXECUTED_PROPERLY);
  try {
    return fromNodeResult(outcome.value);
  } catch (err) {
    return executionFailed(describeThrown(err).message);
  }
}
