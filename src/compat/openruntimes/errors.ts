/**
 * The executor API's errors as upstream's clients read them: JSON `{type, message, code, version}`
 * with no-cache headers. Inside Skiff they are SkiffErrors whose details name the upstream type; any
 * other failure maps onto a type by its status (5xx → `general_unknown`, `Internal server error.`).
 */
import type { ServerResponse } from 'node:http';
import { SkiffError, toSkiffError, type ErrorCode } from '../../shared/errors.js';

/** Upstream's error types and their HTTP statuses. */
export const OPR_ERROR_STATUS = {
  general_route_not_found: 404,
  general_unauthorized: 401,
  general_unknown: 500,
  runtime_not_found: 404,
  runtime_conflict: 409,
  build_failed: 400,
  runtime_failed: 400,
  runtime_timeout: 400,
  execution_bad_request: 400,
  execution_bad_json: 400,
  execution_timeout: 400,
  logs_timeout: 504,
  command_timeout: 500,
  command_failed: 500,
} as const;

export type OprErrorType = keyof typeof OPR_ERROR_STATUS;

const SKIFF_CODE: Record<number, ErrorCode> = {
  400: 'SKIFF_E_INVALID_REQUEST',
  401: 'SKIFF_E_UNAUTHORIZED',
  404: 'SKIFF_E_NOT_FOUND',
  409: 'SKIFF_E_CONFLICT',
  500: 'SKIFF_E_FUNCTION_ERROR',
  504: 'SKIFF_E_TIMEOUT',
};

/** An error of the executor API with upstream's type. */
export function oprError(type: OprErrorType, message: string): SkiffError {
  const status = OPR_ERROR_STATUS[type];
  return new SkiffError(SKIFF_CODE[status] ?? 'SKIFF_E_INTERNAL', message, { details: { oprType: type } });
}

/** The upstream type and message of any error. */
export function describeOprError(err: unknown): { type: OprErrorType; message: string } {
  const error = toSkiffError(err);
  const type = (error.details as { oprType?: OprErrorType } | undefined)?.oprType;
  if (type !== undefined) return { type, message: error.message };
  if (error.status === 401) return { type: 'general_unauthorized', message: error.message };
  if (error.status < 500) return { type: 'execution_bad_request', message: error.message };
  return { type: 'general_unknown', message: 'Internal server error.' };
}

export const NO_CACHE = {
  'cache-control': 'no-cache, no-store, must-revalidate',
  expires: '0',
  pragma: 'no-cache',
} as const;

/** Writes `err` in upstream's shape (nothing when the reply already started: the connection ends). */
export function writeOprError(res: ServerResponse, err: unknown, version: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { type, message } = describeOprError(err);
  const code = OPR_ERROR_STATUS[type];
  const body = Buffer.from(JSON.stringify({ type, message, code, version }));
  res.writeHead(code, {
    ...NO_CACHE,
    'content-type': 'application/json',
    'content-length': String(body.length),
  });
  res.end(body);
}
