/** The gateway's rules for a function's status and body (kept apart from the gateway's request handling). */
import { SkiffError } from '../shared/errors.js';
import { statusHasBody, statusProblem } from '../model/result-rules.js';
import type { Result } from '../model/invocation.js';

/**
 * The body to send for a result, or undefined when its status carries none (204, 304: then no
 * content-length either). Throws SKIFF_E_BAD_RESPONSE (502) for a status a caller must not get:
 * not 200–599 (a 1xx such as 101 would hand the connection over).
 */
export function responseBody(result: Result): Buffer | undefined {
  const problem = statusProblem(result.status);
  if (problem !== undefined) {
    throw new SkiffError('SKIFF_E_BAD_RESPONSE', `the function returned an invalid response: ${problem}`);
  }
  return statusHasBody(result.status) ? result.body : undefined;
}
