/**
 * `ctx.state` of the Node bridge: the function's own key-value state through the platform (STATE
 * frames, runtimes/shared/state.ts). Values: a `Uint8Array` (a `Buffer` too) or `ArrayBuffer` is
 * stored as bytes (`application/octet-stream`) and read back as a `Buffer`; anything else is stored
 * as JSON (`application/json`: objects, arrays, numbers, strings, booleans, null) and read back parsed.
 * A refusal rejects with a `StateError` whose `code` is a SKIFF_E_* code: SKIFF_E_STATE_CONFLICT when
 * `ifVersion` does not hold, SKIFF_E_STATE_TOO_LARGE, SKIFF_E_STATE_FULL, SKIFF_E_INVALID_STATE_KEY.
 */
import type { CallClient } from '../shared/calls.js';
import { StateFrames, type StateKey } from '../shared/state.js';

export interface StateEntry {
  /** Parsed JSON when `contentType` is `application/json`, else a `Buffer` of the bytes. */
  value: unknown;
  /** 1 when the key was created, one more with every set. */
  version: number;
  contentType: string;
}

export interface StateCondition {
  /** Write (or delete) only if the key is at this version; 0: only if it does not exist. */
  ifVersion?: number;
}

export interface FunctionStateApi {
  /** The value under `key`, or null when there is none. */
  get(key: string): Promise<StateEntry | null>;
  /** Stores `value` under `key`; resolves with the key's new version. */
  set(key: string, value: unknown, options?: StateCondition): Promise<number>;
  /** Deletes `key`; resolves true if it was there. */
  delete(key: string, options?: StateCondition): Promise<boolean>;
  /** Every key starting with `prefix` (all keys without one), in key order, without values. */
  list(prefix?: string): Promise<StateKey[]>;
}

function encode(value: unknown): { bytes: Buffer; type: 'application/json' | 'application/octet-stream' } {
  if (value instanceof Uint8Array) {
    return {
      bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      type: 'application/octet-stream',
    };
  }
  if (value instanceof ArrayBuffer) return { bytes: Buffer.from(value), type: 'application/octet-stream' };
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) {
    throw new TypeError('ctx.state.set: the value must be bytes (Uint8Array, Buffer) or a JSON value');
  }
  return { bytes: Buffer.from(text, 'utf8'), type: 'application/json' };
}

/** The `ctx.state` of one invocation (`invocationId` as INVOKE gave it). */
export function stateFor(client: CallClient, invocationId: string, maxBodyBytes: number): FunctionStateApi {
  const frames = new StateFrames(client, invocationId, maxBodyBytes);
  return {
    async get(key) {
      const entry = await frames.get(String(key));
      if (entry === null) return null;
      const isJson = entry.contentType.split(';')[0]?.trim() === 'application/json';
      const value: unknown = isJson ? JSON.parse(entry.value.toString('utf8')) : entry.value;
      return { value, version: entry.version, contentType: entry.contentType };
    },
    async set(key, value, options = {}) {
      const { bytes, type } = encode(value);
      return frames.set(String(key), bytes, type, options.ifVersion);
    },
    delete: (key, options = {}) => frames.delete(String(key), options.ifVersion),
    list: (prefix) => frames.list(prefix === undefined ? undefined : String(prefix)),
  };
}
