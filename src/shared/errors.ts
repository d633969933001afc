/**
 * The one error class of Skiff. Every failure that reaches a user carries a stable code from
 * `ERROR_CODES`; the table below is the single source for the HTTP status and the user/system split,
 * and `docs/errors.md` documents each code.
 */
import { isDiskFull, reportDiskFull } from './disk.js';

export const ERROR_CODES = {
  SKIFF_E_INVALID_REQUEST: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_NAME: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_SPEC: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_SCALING: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_TRAFFIC: { status: 400, kind: 'user' },
  SKIFF_E_ARCHIVE_INVALID: { status: 400, kind: 'user' },
  SKIFF_E_ARCHIVE_UNSAFE: { status: 400, kind: 'user' },
  SKIFF_E_BACKUP_INVALID: { status: 400, kind: 'user' },
  SKIFF_E_FORBIDDEN_DESTINATION: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_STATE_KEY: { status: 400, kind: 'user' },
  SKIFF_E_INVALID_WORKFLOW: { status: 400, kind: 'user' },
  SKIFF_E_UNAUTHORIZED: { status: 401, kind: 'user' },
  SKIFF_E_FORBIDDEN: { status: 403, kind: 'user' },
  SKIFF_E_CORS_REFUSED: { status: 403, kind: 'user' },
  SKIFF_E_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_FUNCTION_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_SECRET_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_INVOCATION_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_STATE_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_WORKFLOW_NOT_FOUND: { status: 404, kind: 'user' },
  SKIFF_E_STATE_CONFLICT: { status: 409, kind: 'user' },
  SKIFF_E_WORKFLOW_CONFLICT: { status: 409, kind: 'user' },
  SKIFF_E_CONFLICT: { status: 409, kind: 'user' },
  SKIFF_E_HOST_TAKEN: { status: 409, kind: 'user' },
  SKIFF_E_EXPIRED: { status: 410, kind: 'user' },
  SKIFF_E_METHOD_NOT_ALLOWED: { status: 405, kind: 'user' },
  SKIFF_E_PAYLOAD_TOO_LARGE: { status: 413, kind: 'user' },
  SKIFF_E_ARCHIVE_TOO_LARGE: { status: 413, kind: 'user' },
  SKIFF_E_STATE_TOO_LARGE: { status: 413, kind: 'user' },
  SKIFF_E_UNSUPPORTED_MEDIA_TYPE: { status: 415, kind: 'user' },
  SKIFF_E_HANDLER_NOT_FOUND: { status: 422, kind: 'user' },
  SKIFF_E_BUILD_FAILED: { status: 422, kind: 'user' },
  SKIFF_E_TOO_MANY_REQUESTS: { status: 429, kind: 'user' },
  SKIFF_E_TOO_MANY_LOG_STREAMS: { status: 429, kind: 'user' },
  SKIFF_E_FUNCTION_ERROR: { status: 500, kind: 'user' },
  SKIFF_E_INTERNAL: { status: 500, kind: 'system' },
  SKIFF_E_INSTANCE_START_FAILED: { status: 502, kind: 'user' },
  SKIFF_E_INSTANCE_CRASHED: { status: 502, kind: 'system' },
  SKIFF_E_BAD_RESPONSE: { status: 502, kind: 'user' },
  SKIFF_E_OUT_OF_MEMORY: { status: 502, kind: 'user' },
  SKIFF_E_PROTOCOL: { status: 502, kind: 'user' },
  SKIFF_E_SHUTTING_DOWN: { status: 503, kind: 'system' },
  SKIFF_E_QUEUE_TIMEOUT: { status: 503, kind: 'system' },
  SKIFF_E_QUEUE_FULL: { status: 503, kind: 'system' },
  SKIFF_E_CRASH_LOOP: { status: 503, kind: 'user' },
  SKIFF_E_TIMEOUT: { status: 504, kind: 'user' },
  SKIFF_E_START_TIMEOUT: { status: 504, kind: 'user' },
  SKIFF_E_DISK_FULL: { status: 507, kind: 'system' },
  SKIFF_E_STATE_FULL: { status: 507, kind: 'user' },
  SKIFF_E_CALL_DEPTH: { status: 508, kind: 'user' },
  SKIFF_E_CANCELLED: { status: 499, kind: 'user' },
  SKIFF_E_CONFIG_INVALID: { status: 500, kind: 'user' },
  SKIFF_E_DATA_DIR_TOO_NEW: { status: 500, kind: 'user' },
  SKIFF_E_DATA_DIR_INVALID: { status: 500, kind: 'user' },
  SKIFF_E_RESTORE_NOT_EMPTY: { status: 409, kind: 'user' },
  SKIFF_E_PORT_IN_USE: { status: 500, kind: 'user' },
  SKIFF_E_SANDBOX_UNAVAILABLE: { status: 500, kind: 'user' },
  SKIFF_E_CLI_USAGE: { status: 400, kind: 'user' },
  SKIFF_E_CLI_UNREACHABLE: { status: 503, kind: 'user' },
  SKIFF_E_CLI_NO_RESULT: { status: 409, kind: 'user' },
} as const satisfies Record<string, { status: number; kind: 'user' | 'system' }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SkiffErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class SkiffError extends Error {
  override readonly name = 'SkiffError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  /** Seconds after which a retry may succeed (429 and 503): sent as `Retry-After`. */
  readonly retryAfterSec: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; retryAfterSec?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
    this.retryAfterSec = options.retryAfterSec;
  }

  get isUserError(): boolean {
    return ERROR_CODES[this.code].kind === 'user';
  }

  toBody(): SkiffErrorBody {
    const body: SkiffErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

/**
 * Wraps anything thrown into a SkiffError; unknown errors become SKIFF_E_INTERNAL without leaking
 * internals. A write that failed on a full disk (ENOSPC, EDQUOT, SQLITE_FULL, also as the cause of an
 * internal error) becomes SKIFF_E_DISK_FULL and is reported on the `skiff:disk-full` channel.
 */
export function toSkiffError(err: unknown): SkiffError {
  if (err instanceof SkiffError && err.code !== 'SKIFF_E_INTERNAL') return err;
  if (isDiskFull(err)) {
    reportDiskFull(err);
    return new SkiffError(
      'SKIFF_E_DISK_FULL',
      "the data directory's disk is full; delete functions or free space, then retry",
      { cause: err },
    );
  }
  if (err instanceof SkiffError) return err;
  return new SkiffError('SKIFF_E_INTERNAL', 'internal error; see the platform log', { cause: err });
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
