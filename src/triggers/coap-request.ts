/**
 * Reads a CoAP request's options (RFC 7252 §5.10) from the raw packet into what the CoAP trigger
 * needs: the function name and the path below it, the query, the formats, the block options, and
 * the headers a function sees. Nothing here throws: a malformed or unsupported option becomes a
 * `problem` that the adapter answers.
 */
import type { CoapPacket } from 'coap';
import { NAME_PATTERN } from '../model/spec.js';
import type { HeaderPairs } from '../model/invocation.js';
import { SkiffError } from '../shared/errors.js';
import { CONTENT_FORMATS, METHODS } from './coap-codes.js';
import { decodeUint, parseBlock, type BlockOption } from './coap-blocks.js';

/** Option numbers of the option names the `coap-packet` parser gives (others come as numbers). */
const OPTION_NUMBERS: Readonly<Record<string, number>> = {
  'If-Match': 1,
  'Uri-Host': 3,
  ETag: 4,
  'If-None-Match': 5,
  Observe: 6,
  'Uri-Port': 7,
  'Location-Path': 8,
  OSCORE: 9,
  'Uri-Path': 11,
  'Content-Format': 12,
  'Max-Age': 14,
  'Uri-Query': 15,
  'Hop-Limit': 16,
  Accept: 17,
  'Q-Block1': 19,
  'Location-Query': 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  'Q-Block2': 31,
  'Proxy-Uri': 35,
  'Proxy-Scheme': 39,
  Size1: 60,
  'No-Response': 258,
  'OCF-Accept-Content-Format-Version': 2049,
  'OCF-Content-Format-Version': 2053,
};

const REQUEST_TAG = 292;
/** Critical (odd) options the trigger acts on; any other critical option is refused with 4.02. */
const UNDERSTOOD_CRITICAL = new Set([1, 3, 5, 7, 11, 15, 17, 23, 27, 35, 39]);

/** Bytes kept as they are in a path segment (RFC 3986 pchar without pct-encoded). */
const PCHAR = bytesOf("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@");
/** Bytes kept as they are in one query parameter: '&' separates parameters, '+' could read as space. */
const QCHAR = bytesOf("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*,;=:@/?");

function bytesOf(chars: string): Set<number> {
  return new Set([...chars].map((c) => c.charCodeAt(0)));
}

/** Percent-encodes raw option bytes, so that any byte sequence reaches the function unchanged. */
function percentEncode(value: Buffer, keep: Set<number>): string {
  let out = '';
  for (const byte of value) {
    out += keep.has(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** What the trigger reads from one request packet. */
export interface CoapRequest {
  /** The method name a function sees (GET, POST ...), or `undefined` for an unknown method code. */
  method: string | undefined;
  /** The first Uri-Path segment: the function's name ('' when there is none). */
  name: string;
  /** The Uri-Path segments below the name, percent-encoded, starting with '/'. */
  path: string;
  /** The Uri-Query options, percent-encoded, joined with '&'. */
  query: string;
  /** Uri-Host[:Uri-Port], if the client sent a well-formed Uri-Host. */
  host: string | undefined;
  contentFormat: number | undefined;
  accept: number | undefined;
  ifMatch: Buffer[];
  ifNoneMatch: boolean;
  block1: BlockOption | undefined;
  block2: BlockOption | undefined;
  size1: number | undefined;
  /** The Request-Tag options (RFC 9175) in hex, which tell concurrent uploads apart. */
  requestTag: string;
  /** Why the request cannot be served as it is, with the CoAP code to answer. */
  problem: { error: SkiffError; coapCode: string } | undefined;
}

function badOption(message: string): { error: SkiffError; coapCode: string } {
  return { error: new SkiffError('SKIFF_E_INVALID_REQUEST', message), coapCode: '4.02' };
}

/** Reads the options of a request packet (before the `coap` package converts their values). */
export function readRequest(packet: CoapPacket): CoapRequest {
  const segments: Buffer[] = [];
  const queries: string[] = [];
  const tags: string[] = [];
  const req: CoapRequest = {
    method: METHODS.get(packet.code ?? ''),
    name: '',
    path: '/',
    query: '',
    host: undefined,
    contentFormat: undefined,
    accept: undefined,
    ifMatch: [],
    ifNoneMatch: false,
    block1: undefined,
    block2: undefined,
    size1: undefined,
    requestTag: '',
    problem: undefined,
  };
  let uriHost: string | undefined;
  let uriPort: number | undefined;
  for (const option of packet.options ?? []) {
    const value = Buffer.isBuffer(option.value) ? option.value : Buffer.alloc(0);
    const number = OPTION_NUMBERS[String(option.name)] ?? Number(option.name);
    switch (number) {
      case 1:
        req.ifMatch.push(value);
        break;
      case 3:
        uriHost = value.toString('latin1');
        break;
      case 5:
        req.ifNoneMatch = true;
        break;
      case 7:
        uriPort = decodeUint(value);
        break;
      case 11:
        segments.push(value);
        break;
      case 12:
        req.contentFormat = decodeUint(value);
        break;
      case 15:
        queries.push(queryParameter(value));
        break;
      case 17:
        req.accept = decodeUint(value);
        break;
      case 23:
      case 27: {
        const block = parseBlock(value);
        if (block === undefined)
          req.problem ??= badOption(`the Block${number === 23 ? 2 : 1} option is malformed`);
        else if (number === 23) req.block2 = block;
        else req.block1 = block;
        break;
      }
      case 35:
      case 39:
        req.problem ??= {
          error: new SkiffError(
            'SKIFF_E_INVALID_REQUEST',
            'this endpoint is not a proxy: send no Proxy-Uri or Proxy-Scheme',
          ),
          coapCode: '5.05',
        };
        break;
      case 60:
        req.size1 = decodeUint(value);
        break;
      case REQUEST_TAG:
        tags.push(value.toString('hex'));
        break;
      default:
        if (!Number.isInteger(number) || (number % 2 === 1 && !UNDERSTOOD_CRITICAL.has(number))) {
          req.problem ??= badOption(`the critical option ${String(option.name)} is not supported`);
        }
    }
  }
  const [first, ...rest] = segments;
  req.name = first === undefined ? '' : first.toString('utf8');
  req.path = `/${rest.map((s) => percentEncode(s, PCHAR)).join('/')}`;
  req.query = queries.join('&');
  req.requestTag = tags.join(',');
  if (uriHost !== undefined && /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(uriHost)) {
    req.host = uriPort === undefined ? uriHost : `${uriHost}:${uriPort}`;
  }
  if (req.problem === undefined && req.method === undefined) {
    req.problem = {
      error: new SkiffError(
        'SKIFF_E_METHOD_NOT_ALLOWED',
        `the CoAP method ${packet.code ?? '?'} is not supported; use GET, POST, PUT, DELETE, FETCH, PATCH or iPATCH`,
      ),
      coapCode: '4.05',
    };
  }
  if (req.problem === undefined && !NAME_PATTERN.test(req.name)) {
    req.problem = {
      error: new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        'call a function at coap://<host>/<name>; list them with `skiff fn list`',
      ),
      coapCode: '4.04',
    };
  }
  if (req.problem === undefined && req.method === 'FETCH' && req.contentFormat === undefined) {
    req.problem = {
      error: new SkiffError('SKIFF_E_UNSUPPORTED_MEDIA_TYPE', 'a FETCH request needs a Content-Format'),
      coapCode: '4.15',
    };
  }
  return req;
}

/** One Uri-Query option as a query parameter: the first '=' splits the name from the value. */
function queryParameter(value: Buffer): string {
  const eq = value.indexOf(0x3d);
  if (eq === -1) return percentEncode(value, QCHAR);
  return `${percentEncode(value.subarray(0, eq), QCHAR)}=${percentEncode(value.subarray(eq + 1), QCHAR)}`;
}

/**
 * The headers a function sees: content-type from Content-Format, accept from Accept, if-match and
 * if-none-match, and `x-coap-*`: type (CON or NON), token (hex), the numeric content-format and
 * accept.
 */
export function invocationHeaders(req: CoapRequest, confirmable: boolean, token: Buffer): HeaderPairs {
  const headers: HeaderPairs = [];
  if (req.contentFormat !== undefined) {
    headers.push(['content-type', CONTENT_FORMATS.get(req.contentFormat) ?? 'application/octet-stream']);
    headers.push(['x-coap-content-format', String(req.contentFormat)]);
  }
  if (req.accept !== undefined) {
    const type = CONTENT_FORMATS.get(req.accept);
    if (type !== undefined) headers.push(['accept', type]);
    headers.push(['x-coap-accept', String(req.accept)]);
  }
  for (const etag of req.ifMatch)
    headers.push(['if-match', etag.length === 0 ? '*' : `"${etag.toString('hex')}"`]);
  if (req.ifNoneMatch) headers.push(['if-none-match', '*']);
  headers.push(['x-coap-type', confirmable ? 'CON' : 'NON']);
  if (token.length > 0) headers.push(['x-coap-token', token.toString('hex')]);
  return headers;
}
