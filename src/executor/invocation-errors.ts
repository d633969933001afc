/** The errors an instance turns a bridge's failure report into (runtime protocol v1 ERROR frames). */
import { SkiffError } from '../shared/errors.js';
import type { HeaderPairs } from '../model/invocation.js';
import { headersProblem, statusProblem } from '../model/result-rules.js';
import type { Deployment } from '../model/deployment.js';
import type { ErrorMeta } from './protocol/messages.js';

/**
 * A function error (FUNCTION_ERROR). The bridge's text always travels in `details.functionError` (the
 * gateway never sends details to callers), with `details.showsErrorText` saying whether the function's
 * flavor lets its callers see it (compatibility endpoints answer with the bare text only then). Callers
 * of a native function read "see its logs"; a flavor whose platform shows the error text to callers
 * (`showsErrorText`) shows it.
 */
export function functionError(meta: ErrorMeta, deployment: Deployment | undefined): SkiffError {
  const failed = meta.exitCode === undefined ? 'threw an error' : `exited with code ${meta.exitCode}`;
  const showsErrorText = deployment?.showErrorText === true;
  const shown = showsErrorText ? `: ${meta.message}` : '; see its logs';
  return new SkiffError('SKIFF_E_FUNCTION_ERROR', `the function ${failed}${shown}`, {
    details: { functionError: meta.message, showsErrorText },
  });
}

/** Nobody waits for the invocation any more: its caller ended. */
export function cancelled(): SkiffError {
  return new SkiffError('SKIFF_E_CANCELLED', 'the invocation was cancelled: its caller ended');
}

/** The OOM killer ended a process of the instance. */
export function outOfMemory(deployment: Deployment | undefined): SkiffError {
  const limit = deployment?.limits.memoryMb;
  return new SkiffError(
    'SKIFF_E_OUT_OF_MEMORY',
    `the function ran out of memory${limit === undefined ? '' : ` (its limit is ${limit} MiB)`} and was killed; raise limits.memoryMb in skiff.json or use less`,
  );
}

/** A result the bridge could not send (BAD_RESPONSE, RESPONSE_TOO_LARGE), or one the platform refused. */
export function badResponse(problem: string): SkiffError {
  return new SkiffError('SKIFF_E_BAD_RESPONSE', `the function returned an invalid response: ${problem}`);
}

/** A response body over `functions.maxResponseBytes`, refused by the platform. */
export function responseTooLarge(limit: number): SkiffError {
  return new SkiffError(
    'SKIFF_E_BAD_RESPONSE',
    `the function's response is larger than the limit of ${limit} bytes (functions.maxResponseBytes)`,
  );
}

/** The instance broke the runtime protocol and was ended (what was wrong is in the function's logs). */
export function protocolError(reason: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_PROTOCOL',
    "the function's runtime broke the runtime protocol and its instance was ended; see the function's logs",
    { details: { reason } },
  );
}

/**
 * Why the platform refuses a RESULT (a status that is not 200–599, headers over 15 KiB in all, a body over
 * the limit) as the error its caller gets and the line for the function's logs; undefined when the
 * result may go out.
 */
export function refusedResult(
  status: number,
  headers: HeaderPairs,
  bodyBytes: number,
  limit: number,
): { error: SkiffError; line: string } | undefined {
  const problem = statusProblem(status) ?? headersProblem(headers);
  if (problem !== undefined) return { error: badResponse(problem), line: `invalid response: ${problem}` };
  if (bodyBytes > limit) return tooLarge(limit);
  return undefined;
}

/** A response over the limit: the caller's error and the line for the function's logs. */
export function tooLarge(limit: number): { error: SkiffError; line: string } {
  return { error: responseTooLarge(limit), line: `the response is larger than ${limit} bytes` };
}
