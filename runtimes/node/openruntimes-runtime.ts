/**
 * What Open Runtimes' runtime server does around a function, before and after calling it
 * (docs/compat/openruntimes.md, "The runtime's rules"): `GET /__opr/health` and `/__opr/timings`, the
 * `x-open-runtimes-secret` check, the `x-open-runtimes-timeout`, `-logging` and `-log-id` headers, and
 * `OPEN_RUNTIMES_HEADERS`. Pure functions of the request and the function's environment; the flavor
 * (openruntimes.ts) applies them to every invocation, whatever trigger brought it.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { HeaderPairs, InvokeMeta } from '../../src/executor/protocol/messages.js';

export const HEALTH_PATH = '/__opr/health';
export const TIMINGS_PATH = '/__opr/timings';
export const UNAUTHORIZED = 'Unauthorized. Provide correct "x-open-runtimes-secret" header.';
export const BAD_TIMEOUT = 'Header "x-open-runtimes-timeout" must be an integer greater than 0.';
export const TIMED_OUT = 'Execution timed out.';
export const LOG_ID_HEADER = 'x-open-runtimes-log-id';
/** The longest timer Node keeps (a longer one fires at once): a longer timeout is the same as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** What Node's HTTP server sends as a header value (no control characters but tab, at most 1 KiB). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]{1,1024}$/;

/** The function's environment as the runtime server reads it, once at INIT. */
export interface RuntimeEnv {
  /** `OPEN_RUNTIMES_SECRET`; empty: no check. */
  secret: string;
  /** `OPEN_RUNTIMES_ENV === 'development'`: the log id is `dev`. */
  development: boolean;
  /** `OPEN_RUNTIMES_HEADERS`: lower-case name → value, replacing the request's headers of that name. */
  forcedHeaders: Readonly<Record<string, string>>;
}

/** Reads the environment; throws when `OPEN_RUNTIMES_HEADERS` is set but not a JSON object. */
export function runtimeEnv(env: NodeJS.ProcessEnv): RuntimeEnv {
  const raw = env['OPEN_RUNTIMES_HEADERS'] ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw === '' ? '{}' : raw);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('OPEN_RUNTIMES_HEADERS must be a JSON object');
  }
  const forcedHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    Object.defineProperty(forcedHeaders, name.toLowerCase(), {
      value: String(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return {
    secret: env['OPEN_RUNTIMES_SECRET'] ?? '',
    development: env['OPEN_RUNTIMES_ENV'] === 'development',
    forcedHeaders,
  };
}

/** The first value of a request header (names compared without case), or undefined. */
export function headerOf(headers: HeaderPairs, name: string): string | undefined {
  for (const [key, value] of headers) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** Whether `given` equals `want`, in time that does not depend on where they differ. */
export function secretMatches(given: string, want: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(want));
}

/**
 * `x-open-runtimes-timeout`: `null` when absent or empty (as upstream, an empty value is no value),
 * `'invalid'` unless it is ASCII digits for a number ≥ 1, else the milliseconds to race the function
 * against (`Infinity` beyond what a timer can hold: the platform's own timeout ends it first).
 */
export function parseTimeout(value: string | undefined): number | null | 'invalid' {
  if (value === undefined || value === '') return null;
  if (!/^[0-9]+$/.test(value)) return 'invalid';
  const digits = value.replace(/^0+/, '');
  if (digits === '') return 'invalid';
  if (digits.length > 10) return Infinity;
  const ms = Number(digits) * 1000;
  return ms > MAX_TIMER_MS ? Infinity : ms;
}

/** Upstream's log id: unix seconds (hex), the milliseconds as 5 hex digits, 7 random hex digits. */
export function generateLogId(now = Date.now()): string {
  let random = '';
  for (let i = 0; i < 7; i++) random += randomInt(16).toString(16);
  return Math.floor(now / 1000).toString(16) + (now % 1000).toString(16).padStart(5, '0') + random;
}

/** What one invocation's headers ask of the runtime. */
export interface RuntimeRequest {
  /** `x-open-runtimes-logging` is not `disabled`. */
  logging: boolean;
  /** The `x-open-runtimes-log-id` the response carries ('' when logging is disabled). */
  logId: string;
}

export function runtimeRequest(headers: HeaderPairs, env: RuntimeEnv): RuntimeRequest {
  const logging = headerOf(headers, 'x-open-runtimes-logging') !== 'disabled';
  if (!logging) return { logging, logId: '' };
  const given = headerOf(headers, LOG_ID_HEADER) ?? '';
  // echoed only when it can go back as a header value (a trigger other than HTTP may carry anything)
  if (given !== '' && HEADER_VALUE.test(given)) return { logging, logId: given };
  return { logging, logId: env.development ? 'dev' : generateLogId() };
}

/** A `/__opr/*` route the runtime answers itself, or undefined. */
export function runtimeRoute(meta: InvokeMeta): 'health' | 'timings' | undefined {
  if (meta.method !== 'GET') return undefined;
  const path = /^[a-z]+:\/\/[^/?]*([^?]*)/i.exec(meta.url)?.[1] ?? '';
  if (path === HEALTH_PATH) return 'health';
  if (path === TIMINGS_PATH) return 'timings';
  return undefined;
}

/** The `/__opr/timings` body: `key=value` lines, seconds with millisecond precision. */
export function timingsText(timings: Readonly<Record<string, number>>): string {
  return Object.entries(timings)
    .map(([key, seconds]) => `${key}=${seconds.toFixed(3)}\n`)
    .join('');
}
