/**
 * The exec bridge's request and response conventions (docs/runtimes/binary.md): the request as
 * CGI-style environment variables, the optional response headers file, and the default content type.
 */
import type { HeaderPairs, InitMeta, InvokeMeta } from '../../src/executor/protocol/messages.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** The headers file is read up to this size; anything longer is refused as a bad response. */
export const MAX_HEADERS_FILE_BYTES = 64 * 1024;

/** Headers that get their own CGI variable instead of `HTTP_*`, and `proxy` (httpoxy: no HTTP_PROXY). */
const NOT_AS_HTTP = new Set(['content-type', 'content-length', 'proxy']);

/** `HTTP_<NAME>` for each request header: upper-cased, `-` → `_`; repeated headers joined with `, `. */
export function headerVariables(headers: HeaderPairs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (NOT_AS_HTTP.has(lower)) continue;
    const key = `HTTP_${lower.toUpperCase().replaceAll('-', '_')}`;
    if (!/^HTTP_[A-Z0-9_]+$/.test(key)) continue;
    const previous = out[key];
    out[key] = previous === undefined ? value : `${previous}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** The environment of one run of the program. */
export function requestEnv(
  base: Record<string, string>,
  init: InitMeta,
  meta: InvokeMeta,
  bodyLength: number,
  headersFile: string,
): Record<string, string> {
  const url = new URL(meta.url);
  const contentType = meta.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return {
    // request headers first: they never override the function's env or the platform's variables
    ...headerVariables(meta.headers),
    ...base,
    REQUEST_METHOD: meta.method,
    REQUEST_PATH: url.pathname,
    QUERY_STRING: url.search.startsWith('?') ? url.search.slice(1) : '',
    REQUEST_URL: meta.url,
    CONTENT_LENGTH: String(bodyLength),
    ...(contentType === undefined ? {} : { CONTENT_TYPE: contentType }),
    SKIFF_FUNCTION: init.function,
    SKIFF_VERSION: String(init.version),
    SKIFF_INVOCATION_ID: meta.invocationId,
    SKIFF_DEADLINE: String(meta.deadline),
    SKIFF_TRIGGER: meta.trigger,
    // W3C Trace Context: the invocation's own traceparent, to send on its outgoing requests
    ...(meta.traceparent === undefined ? {} : { SKIFF_TRACEPARENT: meta.traceparent }),
    ...(meta.tracestate === undefined ? {} : { SKIFF_TRACESTATE: meta.tracestate }),
    SKIFF_RESPONSE_HEADERS: headersFile,
  };
}

export class HeadersFileError extends Error {}

/**
 * Parses the headers file: `Status: <code>` sets the status, every other `Name: value` line adds a
 * response header (repeat a name for several values); blank lines are skipped. Anything else throws.
 */
export function parseHeadersFile(text: string): { status: number; headers: HeaderPairs } {
  let status = 200;
  const headers: HeaderPairs = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (match === null) {
      throw new HeadersFileError(`line ${index + 1} of the headers file is not "Name: value": ${line}`);
    }
    const name = (match[1] as string).toLowerCase();
    const value = match[2] as string;
    if (name === 'status') {
      const code = /^(\d{3})(?:\s.*)?$/.exec(value);
      const parsed = code === null ? NaN : Number(code[1]);
      if (!(parsed >= 200 && parsed <= 599)) {
        throw new HeadersFileError(`the headers file sets an invalid status: ${value}`);
      }
      status = parsed;
    } else {
      headers.push([name, value]);
    }
  });
  if (!headers.some(([name]) => name === 'content-type'))
    headers.push(['content-type', DEFAULT_CONTENT_TYPE]);
  return { status, headers };
}
