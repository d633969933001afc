/**
 * Flavors: how a runtime's bridge calls a function's code. `native` is Skiff's own; the others are the
 * calling conventions of platforms whose functions Skiff runs unmodified. A flavor is a property of the
 * function (its spec), not of a client-facing API: a function of any flavor is reached by every trigger.
 * The model only knows flavor names (FLAVOR_PATTERN); the flavors that exist are the native one and
 * those the compiled-in compatibility folders declare, passed down from the composition root.
 */
import type { FlavorName, RuntimeName } from './spec.js';

export { FLAVOR_PATTERN } from './spec.js';

export interface Flavor {
  /** Its name in skiff.json `flavor` and in INIT's `flavor` field (absent for `native`). */
  name: FlavorName;
  /** The handler a build uses when the spec names none, per runtime (else the runtime's own default). */
  defaultHandler?: Partial<Record<RuntimeName, string>>;
  /**
   * Maps a handler written in the platform's own notation (skiff.json `handler`) onto Skiff's form for
   * the runtime (Node `file` or `file:export`, Python `file.py:function`); absent: used as written.
   */
  mapHandler?: (handler: string, runtime: RuntimeName) => string;
  /** Whether the message callers get for a function error shows the function's own error text. */
  showsErrorText: boolean;
  /**
   * Requests one instance serves at once at most, whatever the function's scaling says (a platform
   * whose functions never share an instance between concurrent requests: 1).
   */
  maxConcurrency?: number;
  /**
   * An instance whose call timed out is stopped and a new one serves the next call (a platform that
   * discards such an instance: the timed-out code may still be running in it).
   */
  replaceAfterTimeout?: boolean;
  /**
   * For runtime `custom`: the platform's bridge that runs the function's `command` as its child and
   * speaks the flavor's own runtime interface to it (a file under dist/runtimes, run with Node, in
   * the same sandbox); absent: the command is the bridge and speaks Skiff's runtime protocol itself.
   */
  customShim?: string;
  /** A prefix of environment variable names its platform keeps for itself: a deploy using one fails. */
  reservedEnvPrefix?: string;
  /**
   * The record an MQTT rule with `onError: "publish"` publishes after the last failed attempt, in the
   * platform's own format (absent: Skiff's, triggers/mqtt-failure.ts).
   */
  mqttFailure?: (failure: MqttFailure) => Buffer;
}

/** A message an MQTT rule's function failed on, every attempt (what a failure record is made of). */
export interface MqttFailure {
  function: string;
  /** The last attempt's invocation id. */
  invocationId: string;
  topic: string;
  qos: 0 | 1;
  retain: boolean;
  /** The PUBLISH's packet identifier (QoS 1 only). */
  packetId: number | undefined;
  payload: Buffer;
  /** When the message came, milliseconds since the epoch. */
  receivedAt: number;
  /** The calls made: the rule's `attempts`, fewer when the platform stopped, none for a message over its size. */
  attempts: number;
  /**
   * Why the last attempt failed: a platform error's code and message (`SKIFF_E_TIMEOUT`…), or for a
   * 5xx answer of the function `SKIFF_E_FUNCTION_ERROR` with its status and body text.
   */
  error: {
    code: string;
    message: string;
    status?: number;
    /** For `SKIFF_E_PAYLOAD_TOO_LARGE`: the rule's `maxPayloadBytes`. */
    limit?: number;
  };
}

export const NATIVE_FLAVOR: Flavor = { name: 'native', showsErrorText: false };

/** The handler a build of `runtime` uses: the spec's (mapped by the flavor), else the flavor's default. */
export function buildHandler(
  flavor: Flavor | undefined,
  runtime: RuntimeName,
  handler: string | null,
): string | null {
  if (handler === null) return flavor?.defaultHandler?.[runtime] ?? null;
  return flavor?.mapHandler === undefined ? handler : flavor.mapHandler(handler, runtime);
}

/** The flavors a platform knows, by name. */
export type Flavors = ReadonlyMap<string, Flavor>;

/** `native` and the given flavors, by name; a name given twice is a programming error. */
export function flavorSet(flavors: readonly Flavor[]): Flavors {
  const out = new Map<string, Flavor>([[NATIVE_FLAVOR.name, NATIVE_FLAVOR]]);
  for (const flavor of flavors) {
    if (out.has(flavor.name)) throw new Error(`flavor ${flavor.name} is declared twice`);
    out.set(flavor.name, flavor);
  }
  return out;
}
