/**
 * What a function's result may say, whatever produced it: the status must be a final HTTP status
 * (200–599; 1xx, including 101 Switching Protocols, would hand the caller's connection to the
 * function), and some statuses carry no body.
 */

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
