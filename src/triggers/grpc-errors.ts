/**
 * How a SkiffError reaches a gRPC client: a status code chosen by its SKIFF_E_* code, the error's
 * message as details (never a stack or an instance's stderr) and the code itself in the trailing
 * metadata `skiff-error-code`.
 */
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { ErrorCode, SkiffError } from '../shared/errors.js';

/** Trailing metadata key that carries the SKIFF_E_* code of a failed call. */
export const ERROR_CODE_KEY = 'skiff-error-code';
/** Metadata key that carries the invocation id (initial metadata, like HTTP's `x-skiff-invocation-id`). */
export const INVOCATION_ID_KEY = 'skiff-invocation-id';
/** Trailing metadata key with the seconds after which a retry may succeed (429/503-like errors). */
export const RETRY_AFTER_KEY = 'retry-after';

/** gRPC status of each SKIFF_E_* code that is not INTERNAL (docs/triggers/grpc.md has the table). */
export const GRPC_STATUS: Partial<Record<ErrorCode, status>> = {
  SKIFF_E_FUNCTION_NOT_FOUND: status.NOT_FOUND,
  SKIFF_E_INVALID_NAME: status.INVALID_ARGUMENT,
  SKIFF_E_INVALID_REQUEST: status.INVALID_ARGUMENT,
  SKIFF_E_TIMEOUT: status.DEADLINE_EXCEEDED,
  SKIFF_E_START_TIMEOUT: status.DEADLINE_EXCEEDED,
  SKIFF_E_TOO_MANY_REQUESTS: status.RESOURCE_EXHAUSTED,
  SKIFF_E_QUEUE_TIMEOUT: status.RESOURCE_EXHAUSTED,
  SKIFF_E_PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  SKIFF_E_SHUTTING_DOWN: status.UNAVAILABLE,
  SKIFF_E_CRASH_LOOP: status.UNAVAILABLE,
  // a private function's refusals (src/invoke/private-access.ts)
  SKIFF_E_UNAUTHORIZED: status.UNAUTHENTICATED,
  SKIFF_E_FORBIDDEN: status.PERMISSION_DENIED,
};

/** The gRPC status for a SKIFF_E_* code: the table above, INTERNAL for every other code. */
export function grpcStatusOf(code: ErrorCode): status {
  return GRPC_STATUS[code] ?? status.INTERNAL;
}

/** The error a unary handler passes to its callback for a SkiffError. */
export function toStatus(error: SkiffError): Partial<StatusObject> {
  const trailers = new Metadata();
  trailers.set(ERROR_CODE_KEY, error.code);
  if (error.retryAfterSec !== undefined) trailers.set(RETRY_AFTER_KEY, String(error.retryAfterSec));
  return { code: grpcStatusOf(error.code), details: error.message, metadata: trailers };
}
