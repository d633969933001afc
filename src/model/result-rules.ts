/**
 * What a function's result may say, whatever produced it: the status must be a final HTTP status
 * (200–599; 1xx, including 101 Switching Protocols, would hand the caller's connection to the
 * function), some statuses carry no body, and the headers fit in what HTTP clients accept.
 */
import type { HeaderPairs } from './invocation.js';

/**
 * The most header bytes a result may carry (each `name: value` line and its CRLF): Node's and undici's
 * clients refuse a response whose header section is over 16 KiB, and so do many proxies' defaults; the
 * platform keeps 1 KiB of that for its own headers (date, content-length, connection ...).
 */
export const MAX_RESULT_HEADER_BYTES = 15 * 1024;

/** Why a result's headers cannot be sent to a caller (too many bytes in all), or undefined when they can. */
export function headersProblem(headers: HeaderPairs): string | undefined {
  let bytes = 0;
  for (const [name, value] of headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  if (bytes <= MAX_RESULT_HEADER_BYTES) return undefined;
  return `its ${headers.length} headers take ${bytes} bytes, more than the ${MAX_RESULT_HEADER_BYTES} a caller is sure to accept`;
}

/** Why a status cannot be sent to a caller, or undefined when it can. */
export function statusProblem(status: number): string | undefined {
  if (!Number.isInteger(status)) return `the status ${String(status)} is not an integer`;
  if (status < 200 || status > 599) return `the status ${status} is not a final HTTP status (200-599)`;
  return undefined;
}

/** 204 No Content and 304 Not Modified never carry a body (RFC 9110 §15.3.5, §15.4.5). */
export function statusHasBody(status: number): boolean {
  return status !== 204 && status !== 304;
}
