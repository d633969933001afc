/**
 * Maps a function's Result, or a platform error, onto a CoAP response: code, options, payload.
 * CoAP has no headers, so only what has an option of its own survives: content-type (Content-Format),
 * cache-control max-age (Max-Age) and, for 2.01 Created, location (Location-Path, Location-Query).
 */
import type { Result } from '../model/invocation.js';
import { SkiffError } from '../shared/errors.js';
import { encodeUint } from './coap-blocks.js';
import { coapCodeOfError, coapCodeOfStatus, contentFormatOf } from './coap-codes.js';

/** A response before the `coap` package puts it on the wire (and cuts it into blocks). */
export interface CoapReply {
  code: string;
  /** Option name (as the `coap` package spells it) → raw value, or values for a repeatable option. */
  options: Record<string, Buffer | Buffer[]>;
  body: Buffer;
}

const MAX_AGE_LIMIT = 0xffffffff;

function header(result: Result, name: string): string | undefined {
  return result.headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** Max-Age from cache-control: max-age=N → N, no-store or no-cache → 0, otherwise none. */
function maxAgeOf(cacheControl: string | undefined): number | undefined {
  if (cacheControl === undefined) return undefined;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age=(\d+)$/.exec(d)?.[1]).find((v) => v !== undefined);
  return maxAge === undefined ? undefined : Math.min(Number(maxAge), MAX_AGE_LIMIT);
}

/** Location-Path and Location-Query options of a relative (same-server) location. */
function locationOptions(location: string): Record<string, Buffer[]> {
  let url: URL;
  try {
    url = new URL(location, 'coap://self/');
  } catch {
    return {};
  }
  if (url.host !== 'self') return {};
  const options: Record<string, Buffer[]> = {};
  const segments = url.pathname
    .split('/')
    .slice(1)
    .filter((s, i, all) => s !== '' || i < all.length - 1);
  if (segments.length > 0) {
    options['Location-Path'] = segments.map((s) => Buffer.from(decodeURIComponentSafe(s)));
  }
  const queries = url.search === '' ? [] : url.search.slice(1).split('&');
  if (queries.length > 0)
    options['Location-Query'] = queries.map((q) => Buffer.from(decodeURIComponentSafe(q)));
  return options;
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The CoAP response of a function's Result (see coapCodeOfStatus for the codes). */
export function replyOfResult(result: Result, method: string, maxPayloadBytes: number): CoapReply {
  const code = coapCodeOfStatus(result.status, method);
  if (code === undefined) {
    return replyOfError(
      new SkiffError(
        'SKIFF_E_BAD_RESPONSE',
        `the function answered HTTP ${result.status}, which has no CoAP response code`,
      ),
      maxPayloadBytes,
    );
  }
  const options: Record<string, Buffer | Buffer[]> = {};
  if (result.body.length > 0) {
    options['Content-Format'] = encodeUint(contentFormatOf(header(result, 'content-type')));
  }
  const maxAge = maxAgeOf(header(result, 'cache-control'));
  if (maxAge !== undefined) options['Max-Age'] = encodeUint(maxAge);
  const location = header(result, 'location');
  if (code === '2.01' && location !== undefined) Object.assign(options, locationOptions(location));
  return { code, options, body: result.body };
}

/**
 * The CoAP response of a platform error: its code (or `coapCode`), a `CODE: message` text payload
 * (no details, no stack), Max-Age = the retry-after seconds on 5.03, Size1 = the limit on 4.13.
 */
export function replyOfError(err: SkiffError, maxPayloadBytes: number, coapCode?: string): CoapReply {
  const code = coapCode ?? coapCodeOfError(err);
  const options: Record<string, Buffer | Buffer[]> = { 'Content-Format': encodeUint(0) };
  if (code === '5.03' && err.retryAfterSec !== undefined) {
    options['Max-Age'] = encodeUint(Math.max(1, Math.ceil(err.retryAfterSec)));
  }
  if (code === '4.13') options['Size1'] = encodeUint(maxPayloadBytes);
  return { code, options, body: Buffer.from(`${err.code}: ${err.message}`) };
}
