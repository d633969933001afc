/**
 * Where the platform is and how to talk to it. The CLI reaches the platform over HTTP only.
 *
 * Which platform (the first that applies wins; docs/cli.md "Which platform"):
 * 1. flags: `--context <name>`, else `--url <url>` (token from `$SKIFF_TOKEN`), else `--data-dir <dir>`
 * 2. environment: `$SKIFF_URL` (token from `$SKIFF_TOKEN`)
 * 3. the current context recorded by `skiff login` (contexts.ts)
 * 4. a platform's data folder: `$SKIFF_HOME`, else `./.skiff` (`endpoints.json`, `admin-token`)
 *
 * A token goes only to the platform it was recorded or given with: a context's token only to its URL,
 * a data folder's `admin-token` only to that folder's platform; `$SKIFF_TOKEN` is the token of an
 * address given by flag or environment, and overrides the current context's or the folder's token.
 * The gateway URL: `$SKIFF_GATEWAY_URL`, else the context's, else the data folder's `endpoints.json`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SkiffError, isErrorCode } from '../shared/errors.js';
import { contextNamed, contextsPath, readContexts } from './contexts.js';
import { withHint } from './output.js';

/** What the global flags say about the platform to use (options.ts). */
export interface ClientTarget {
  dataDir?: string | undefined;
  url?: string | undefined;
  context?: string | undefined;
}

export interface ClientConfig extends ClientTarget {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  fetch?: typeof fetch;
}

export interface ApiRequest {
  query?: Record<string, string | number | undefined>;
  body?: Uint8Array;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

const UNREACHABLE_HINT =
  "run `skiff login <url>` for a platform elsewhere, `skiff serve` to start one here, or set SKIFF_URL and SKIFF_TOKEN (SKIFF_HOME: a platform's data folder)";
export const GATEWAY_HINT =
  'start the platform with `skiff serve`, set SKIFF_GATEWAY_URL, or record it with `skiff login <url> --gateway-url <url>`';

/** The platform chosen, and where each of its parts came from (for error messages). */
interface Resolved {
  control?: { url: string; source: string } | undefined;
  gateway?: { url: string; source: string } | undefined;
  token?: string | undefined;
  /** What was looked at, for "no platform found". */
  looked: string;
}

export class SkiffClient {
  readonly dataDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly fetchImpl: typeof fetch;
  private readonly target: ClientTarget;
  private resolvedCache: Resolved | undefined;
  private endpointsCache: Record<string, unknown> | undefined;

  constructor(config: ClientConfig = {}) {
    this.env = config.env ?? process.env;
    const cwd = config.cwd ?? process.cwd();
    this.dataDir = path.resolve(cwd, config.dataDir ?? nonEmpty(this.env.SKIFF_HOME) ?? '.skiff');
    this.fetchImpl = config.fetch ?? fetch;
    this.target = { dataDir: config.dataDir, url: config.url, context: config.context };
  }

  /** The control (management API) base URL, without a trailing slash; throws UNREACHABLE if unknown. */
  controlUrl(): string {
    const { control, looked } = this.resolved();
    if (control === undefined) {
      throw withHint(
        new SkiffError('SKIFF_E_CLI_UNREACHABLE', `no Skiff platform found: ${looked}`),
        UNREACHABLE_HINT,
      );
    }
    return normalizeUrl(control.url, control.source);
  }

  /** The HTTP trigger (gateway) base URL, without a trailing slash, or undefined if unknown. */
  gatewayUrl(): string | undefined {
    const { gateway } = this.resolved();
    return gateway === undefined ? undefined : normalizeUrl(gateway.url, gateway.source);
  }

  /** Like gatewayUrl(), but throws UNREACHABLE if unknown. */
  requireGatewayUrl(): string {
    const url = this.gatewayUrl();
    if (url === undefined) {
      throw withHint(
        new SkiffError(
          'SKIFF_E_CLI_UNREACHABLE',
          `no Skiff HTTP gateway found: SKIFF_GATEWAY_URL is not set, the context records none, and ${path.join(this.dataDir, 'endpoints.json')} is missing or has no "http" field`,
        ),
        GATEWAY_HINT,
      );
    }
    return url;
  }

  /** The token for the chosen platform, or undefined if none is configured. */
  token(): string | undefined {
    return this.resolved().token;
  }

  private resolved(): Resolved {
    this.resolvedCache ??= this.resolve();
    return this.resolvedCache;
  }

  private resolve(): Resolved {
    const env = this.env;
    const envToken = nonEmpty(env.SKIFF_TOKEN);
    const envGateway = nonEmpty(env.SKIFF_GATEWAY_URL);
    const gatewayFromEnv =
      envGateway === undefined ? undefined : { url: envGateway, source: 'SKIFF_GATEWAY_URL' };
    const file = contextsPath(env);
    const fromContext = (name: string, how: string, token: string | undefined): Resolved => {
      const ctx = contextNamed(readContexts(file), name, file);
      const source = `the ${how} '${name}' in ${file}`;
      return {
        control: { url: ctx.url, source },
        gateway: gatewayFromEnv ?? (ctx.gateway === undefined ? undefined : { url: ctx.gateway, source }),
        token: token ?? ctx.token,
        looked: '',
      };
    };
    if (this.target.context !== undefined) return fromContext(this.target.context, 'context', undefined);
    const url =
      nonEmpty(this.target.url) ?? (this.target.dataDir === undefined ? nonEmpty(env.SKIFF_URL) : undefined);
    if (url !== undefined) {
      const source = this.target.url !== undefined ? '--url' : 'SKIFF_URL';
      return {
        control: { url, source },
        gateway: gatewayFromEnv ?? this.folderGateway(),
        token: envToken,
        looked: '',
      };
    }
    if (this.target.dataDir === undefined) {
      const current = readContexts(file).current;
      if (current !== undefined) return fromContext(current, 'current context', envToken);
    }
    const control = this.endpoint('control');
    const looked =
      this.target.dataDir !== undefined
        ? `${path.join(this.dataDir, 'endpoints.json')} (--data-dir) does not exist`
        : `no --url, --context or --data-dir flag, SKIFF_URL is not set, ${file} names no current context, and ${path.join(this.dataDir, 'endpoints.json')} (${nonEmpty(env.SKIFF_HOME) !== undefined ? 'SKIFF_HOME' : './.skiff'}) does not exist`;
    return {
      control: control === undefined ? undefined : { url: control, source: this.endpointsSource('control') },
      gateway: gatewayFromEnv ?? this.folderGateway(),
      token: envToken ?? this.folderToken(),
      looked,
    };
  }

  private folderGateway(): { url: string; source: string } | undefined {
    const url = this.endpoint('http');
    return url === undefined ? undefined : { url, source: this.endpointsSource('http') };
  }

  private folderToken(): string | undefined {
    try {
      return nonEmpty(readFileSync(path.join(this.dataDir, 'admin-token'), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /**
   * Calls the management API and parses the JSON answer. A 4xx/5xx becomes a SkiffError with the
   * server's code (SKIFF_E_INTERNAL for codes this CLI does not know), message and details.
   */
  async api<T>(method: string, apiPath: string, request: ApiRequest = {}): Promise<ApiResponse<T>> {
    const url = new URL(this.controlUrl() + apiPath);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    const token = this.token();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await this.send(url, { method, headers, ...(request.body ? { body: request.body } : {}) });
    const text = await res.text();
    if (!res.ok) throw errorFromResponse(res, text, url);
    if (text === '') return { status: res.status, body: undefined as T };
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch (cause) {
      throw new SkiffError('SKIFF_E_INTERNAL', `the platform at ${url.origin} answered with invalid JSON`, {
        cause,
      });
    }
  }

  /** A raw request (used for the gateway); only connection failures are mapped to SkiffErrors. */
  async send(url: URL, init: RequestInit, hint = UNREACHABLE_HINT): Promise<Response> {
    try {
      return await this.fetchImpl(url, init);
    } catch (err) {
      throw connectionError(err, url, hint);
    }
  }

  private endpointsSource(field: string): string {
    return `the "${field}" field of ${path.join(this.dataDir, 'endpoints.json')}`;
  }

  private endpoint(field: 'control' | 'http'): string | undefined {
    if (this.endpointsCache === undefined) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(path.join(this.dataDir, 'endpoints.json'), 'utf8'));
        this.endpointsCache =
          typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
      } catch {
        this.endpointsCache = {};
      }
    }
    const value = this.endpointsCache[field];
    return typeof value === 'string' ? nonEmpty(value) : undefined;
  }
}

/** Reads a Skiff error body (`{ error: { code, message, details? } }`), or undefined if it is not one. */
export function parseErrorBody(
  text: string,
): { code: string; message: string; details: unknown; hasDetails: boolean } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const error = (parsed as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string' || !code.startsWith('SKIFF_E_')) return undefined;
  return {
    code,
    message: typeof message === 'string' ? message : code,
    details,
    hasDetails: Object.hasOwn(error, 'details'),
  };
}

/** Turns a Skiff JSON error body into a SkiffError, keeping message and details; undefined if not one. */
export function skiffErrorFromBody(text: string): SkiffError | undefined {
  const body = parseErrorBody(text);
  if (body === undefined) return undefined;
  const options = body.hasDetails ? { details: body.details } : {};
  if (isErrorCode(body.code)) return new SkiffError(body.code, body.message, options);
  return withHint(
    new SkiffError('SKIFF_E_INTERNAL', body.message, options),
    `the platform answered with ${body.code}, a code this skiff CLI does not know; update the CLI`,
  );
}

export function errorFromResponse(res: Response, text: string, url: URL): SkiffError {
  return errorFromStatus(res.status, res.statusText, text, url);
}

/** The SkiffError of an answer with an error status: the Skiff error in its body, else one by status. */
export function errorFromStatus(status: number, statusText: string, text: string, url: URL): SkiffError {
  const fromBody = skiffErrorFromBody(text);
  if (fromBody !== undefined) return fromBody;
  const snippet = text.trim().slice(0, 200);
  const message = `${status} ${statusText} from ${url.origin}${url.pathname}${snippet ? `: ${snippet}` : ''}`;
  if (status === 401 || status === 403) return new SkiffError('SKIFF_E_UNAUTHORIZED', message);
  if (status === 404) return new SkiffError('SKIFF_E_NOT_FOUND', message);
  return new SkiffError('SKIFF_E_INTERNAL', message);
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Maps a fetch failure to SKIFF_E_CLI_UNREACHABLE naming the URL. */
export function connectionError(err: unknown, url: URL, hint = UNREACHABLE_HINT): SkiffError {
  if (err instanceof SkiffError) return err;
  const code = errnoCode(err);
  const base = `cannot reach the Skiff platform at ${url.origin}`;
  if (code !== undefined && CONNECT_CODES.has(code)) {
    const message =
      code.startsWith('UND_ERR_') && code.endsWith('TIMEOUT') ? `${base} (timed out)` : `${base} (${code})`;
    return withHint(new SkiffError('SKIFF_E_CLI_UNREACHABLE', message, { cause: err }), hint);
  }
  const reason = err instanceof Error ? (causeMessage(err) ?? err.message) : String(err);
  return withHint(new SkiffError('SKIFF_E_CLI_UNREACHABLE', `${base}: ${reason}`, { cause: err }), hint);
}

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth += 1) {
    if (typeof e !== 'object') return undefined;
    const { code, errors, cause } = e as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    if (Array.isArray(errors) && errors.length > 0) {
      const inner = errnoCode(errors[0]);
      if (inner !== undefined) return inner;
    }
    e = cause;
  }
  return undefined;
}

function causeMessage(err: Error): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? cause.message : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Accepts `http://host:port[/base]`, `host:port` or a bare port; returns it without a trailing slash. */
export function normalizeUrl(value: string, source: string): string {
  let url = value;
  if (/^\d+$/.test(url)) url = `http://127.0.0.1:${url}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `http://${url}`;
  if (!URL.canParse(url)) {
    throw withHint(
      new SkiffError('SKIFF_E_CLI_USAGE', `${source} is not a valid URL: '${value}'`),
      'use a URL such as http://127.0.0.1:8080',
    );
  }
  return url.replace(/\/+$/, '');
}
