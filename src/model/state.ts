/**
 * Per-function state: a small key-value store each function owns, persistent across restarts, with
 * a version per key for compare-and-set. The `FunctionState` interface is what the control API's
 * state routes (and, later, the runtime protocol's state frames) use; src/store/state-store.ts
 * implements it on SQLite. Leaf module: it names the shapes and the key rules, nothing else.
 */

/** How a value is stored and given back: JSON (parsed when set) or opaque bytes. */
export const STATE_CONTENT_TYPES = ['application/json', 'application/octet-stream'] as const;
export type StateContentType = (typeof STATE_CONTENT_TYPES)[number];

/** One stored value. `version` is 1 when the key is created and grows by 1 with every set. */
export interface StateEntry {
  key: string;
  value: Buffer;
  contentType: StateContentType;
  version: number;
  /** ISO time of the last set. */
  updatedAt: string;
}

/** A key as listed: everything but the value. */
export interface StateKeyInfo {
  key: string;
  version: number;
  /** Bytes of the value. */
  size: number;
  contentType: StateContentType;
  updatedAt: string;
}

/** What one function's state holds: keys, and bytes of keys and values together. */
export interface StateUsage {
  keys: number;
  bytes: number;
}

/** The caps of every function's state (config `state`). */
export interface StateLimits {
  /** The largest value, bytes. */
  maxValueBytes: number;
  /** Bytes of all keys and values of one function. */
  maxBytesPerFunction: number;
  /** Keys of one function. */
  maxKeysPerFunction: number;
}

export const DEFAULT_STATE_LIMITS: StateLimits = {
  maxValueBytes: 256 * 1024,
  maxBytesPerFunction: 10 * 1024 * 1024,
  maxKeysPerFunction: 10_000,
};

/** Keys are 1 to 512 bytes of UTF-8. */
export const MAX_STATE_KEY_BYTES = 512;

/** Keys listed per page at most, and by default. */
export const MAX_STATE_LIST_LIMIT = 1000;
export const DEFAULT_STATE_LIST_LIMIT = 100;

/**
 * A condition on the key's current version: `ifVersion: n` writes only if the key is at version n,
 * `ifVersion: 0` only if it does not exist; without it the write is unconditional.
 */
export interface StateCondition {
  ifVersion?: number;
}

/** A write's outcome: done (with the new version), or refused because the condition did not hold. */
export type StateWrite =
  { ok: true; version: number; created: boolean } | { ok: false; currentVersion: number };

/** A delete's outcome: `deleted` false when there was no such key (and no condition). */
export type StateDelete = { ok: true; deleted: boolean } | { ok: false; currentVersion: number };

export interface StateListOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Keys per page (1 to MAX_STATE_LIST_LIMIT, default DEFAULT_STATE_LIST_LIMIT). */
  limit?: number;
  /** Only keys after this one (the `next` of the previous page). */
  after?: string;
}

export interface StateList {
  /** In key order (by their UTF-8 bytes). */
  keys: StateKeyInfo[];
  /** The key to pass as `after` for the next page; null on the last page. */
  next: string | null;
  /** The whole function's usage, not only this page's. */
  usage: StateUsage;
}

/**
 * Per-function state. Every method is atomic on its own: a conditional set or delete compares and
 * writes in one transaction, so concurrent compare-and-set loops never lose an update. Asynchronous
 * so that a store on another engine can implement it. Refusals are `SkiffError`s: an invalid key
 * (SKIFF_E_INVALID_STATE_KEY), a value over the cap (SKIFF_E_STATE_TOO_LARGE), a function over its
 * total bytes or keys (SKIFF_E_STATE_FULL), a JSON value that does not parse (SKIFF_E_INVALID_REQUEST).
 */
export interface FunctionState {
  readonly limits: StateLimits;
  get(fn: string, key: string): Promise<StateEntry | undefined>;
  set(
    fn: string,
    key: string,
    value: Buffer,
    contentType: StateContentType,
    condition?: StateCondition,
  ): Promise<StateWrite>;
  delete(fn: string, key: string, condition?: StateCondition): Promise<StateDelete>;
  list(fn: string, options?: StateListOptions): Promise<StateList>;
  /** Deletes every key of a function (when the function is deleted); returns how many there were. */
  deleteAll(fn: string): Promise<number>;
}

/**
 * Why a key is not valid, or undefined when it is: 1 to 512 bytes of UTF-8, printable, no NUL, and
 * not `.` or `..`.
 */
export function stateKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'a state key cannot be empty';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_STATE_KEY_BYTES)
    return `a state key is at most ${MAX_STATE_KEY_BYTES} bytes of UTF-8; this one has ${bytes}`;
  // a URL path cannot carry them: `.` and `..` segments are resolved away, encoded or not
  if (key === '.' || key === '..') return `a state key cannot be ${JSON.stringify(key)}`;
  // control characters (NUL included) and lone surrogates, which UTF-8 cannot carry
  if (/[\p{Cc}\p{Cs}]/u.test(key))
    return 'a state key cannot hold control characters (NUL, newlines, tabs …) or unpaired surrogates';
  return undefined;
}

/**
 * The smallest string greater than every string starting with `prefix`, in code-point (= UTF-8 byte)
 * order; undefined when there is none. So `prefix <= key < upper` selects the keys with the prefix.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = (points.pop() ?? 0) + 1;
    if (last <= 0x10ffff) {
      points.push(last >= 0xd800 && last <= 0xdfff ? 0xe000 : last);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}
