/**
 * The tables of the CoAP trigger: Content-Format numbers ⇄ media types (RFC 7252 §12.3, IANA
 * "CoAP Content-Formats"), function statuses → CoAP response codes (after RFC 8075 §7), and platform
 * errors → CoAP response codes. Written down once in docs/triggers/coap.md.
 */
import type { ErrorCode, SkiffError } from '../shared/errors.js';

/** Content-Format number → the media type a function sees in `content-type` / `accept`. */
export const CONTENT_FORMATS: ReadonlyMap<number, string> = new Map([
  [0, 'text/plain;charset=utf-8'],
  [40, 'application/link-format'],
  [41, 'application/xml'],
  [42, 'application/octet-stream'],
  [50, 'application/json'],
  [51, 'application/json-patch+json'],
  [52, 'application/merge-patch+json'],
  [60, 'application/cbor'],
  [63, 'application/cbor-seq'],
  [110, 'application/senml+json'],
  [112, 'application/senml+cbor'],
]);

/** What a response whose media type has no Content-Format number is sent as. */
export const OCTET_STREAM = 42;

const FORMAT_OF_TYPE = new Map(
  [...CONTENT_FORMATS].map(([format, type]) => [type.split(';')[0] as string, format]),
);

/**
 * The Content-Format number of a function's `content-type`. `text/plain` is 0 only as UTF-8 (or
 * ASCII, or without a charset); anything without a number, or absent, is 42 (application/octet-stream).
 */
export function contentFormatOf(contentType: string | undefined): number {
  if (contentType === undefined) return OCTET_STREAM;
  const [type = '', ...params] = contentType.toLowerCase().split(';');
  const mediaType = type.trim();
  if (mediaType === 'text/plain') {
    const charset = params
      .map((p) => p.trim().split('='))
      .find(([key]) => key?.trim() === 'charset')?.[1]
      ?.trim()
      .replace(/^"|"$/g, '');
    return charset === undefined || charset === 'utf-8' || charset === 'us-ascii' ? 0 : OCTET_STREAM;
  }
  return FORMAT_OF_TYPE.get(mediaType) ?? OCTET_STREAM;
}

/** CoAP method codes (RFC 7252 §12.1.1, RFC 8132) → the method name a function sees. */
export const METHODS: ReadonlyMap<string, string> = new Map([
  ['0.01', 'GET'],
  ['0.02', 'POST'],
  ['0.03', 'PUT'],
  ['0.04', 'DELETE'],
  ['0.05', 'FETCH'],
  ['0.06', 'PATCH'],
  ['0.07', 'IPATCH'],
]);

/** HTTP statuses with a CoAP response code of their own. */
const STATUS_CODES: ReadonlyMap<number, string> = new Map([
  [400, '4.00'],
  [401, '4.01'],
  [403, '4.03'],
  [404, '4.04'],
  [405, '4.05'],
  [406, '4.06'],
  [409, '4.09'],
  [412, '4.12'],
  [413, '4.13'],
  [415, '4.15'],
  [422, '4.22'],
  [429, '4.29'],
  [500, '5.00'],
  [501, '5.01'],
  [502, '5.02'],
  [503, '5.03'],
  [504, '5.04'],
]);

/**
 * The CoAP code of a function's status: 201 → 2.01 Created; 204 → 2.02 Deleted for DELETE, 2.05
 * for GET and FETCH, 2.04 Changed otherwise; other 2xx → 2.05 Content; 304 → 2.03 Valid; 4xx and
 * 5xx → the matching code, else 4.00 or 5.00 by class. Other statuses (1xx, redirects) have no CoAP
 * code: `undefined`, and the caller answers SKIFF_E_BAD_RESPONSE.
 */
export function coapCodeOfStatus(status: number, method: string): string | undefined {
  if (status === 201) return '2.01';
  if (status === 204) {
    if (method === 'DELETE') return '2.02';
    return method === 'GET' || method === 'FETCH' ? '2.05' : '2.04';
  }
  if (status >= 200 && status < 300) return '2.05';
  if (status === 304) return '2.03';
  const exact = STATUS_CODES.get(status);
  if (exact !== undefined) return exact;
  if (status >= 400 && status < 500) return '4.00';
  if (status >= 500 && status < 600) return '5.00';
  return undefined;
}

const UNAVAILABLE: ReadonlySet<ErrorCode> = new Set([
  'SKIFF_E_TOO_MANY_REQUESTS',
  'SKIFF_E_QUEUE_TIMEOUT',
  'SKIFF_E_CRASH_LOOP',
  'SKIFF_E_SHUTTING_DOWN',
]);

/**
 * The CoAP code of a platform error: FUNCTION_NOT_FOUND 4.04, PAYLOAD_TOO_LARGE 4.13, saturation
 * and shutdown 5.03, TIMEOUT and START_TIMEOUT 5.04; other user errors of the 4xx family by their
 * status (INVALID_REQUEST 4.00, METHOD_NOT_ALLOWED 4.05, UNSUPPORTED_MEDIA_TYPE 4.15 ...); the rest 5.00.
 */
export function coapCodeOfError(err: SkiffError): string {
  if (err.code === 'SKIFF_E_FUNCTION_NOT_FOUND') return '4.04';
  if (err.code === 'SKIFF_E_PAYLOAD_TOO_LARGE') return '4.13';
  if (UNAVAILABLE.has(err.code)) return '5.03';
  if (err.code === 'SKIFF_E_TIMEOUT' || err.code === 'SKIFF_E_START_TIMEOUT') return '5.04';
  if (err.status >= 400 && err.status < 500) return STATUS_CODES.get(err.status) ?? '4.00';
  return '5.00';
}
