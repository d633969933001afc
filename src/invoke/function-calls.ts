/**
 * `ctx.call`: one function calling another (docs/composition.md, "Calls"). The executor hands every
 * CALL frame to this host (it knows the interface only, src/executor/calls.ts); the call becomes an
 * invocation with trigger `call` that runs through the router and the executor like any other, so the
 * callee's scaling, queue and limits apply. The chain's safety rails live here: the callee inherits the
 * caller's deadline, and the depth of a chain is bounded (a cycle ends at the limit).
 */
import { randomUUID } from 'node:crypto';
import { SkiffError } from '../shared/errors.js';
import { childTrace, startSpan } from '../shared/trace-context.js';
import type { CallerContext, CallHost, CallRequest } from '../executor/calls.js';
import type { ErrorCode } from '../shared/errors.js';
import type { Deployment } from '../model/deployment.js';
import type { Invocation, Result } from '../model/invocation.js';

/**
 * Failures of the callee itself, not refusals of the platform: the caller gets them as a response with
 * the error's status and JSON body (as an HTTP client would), not as a FAIL.
 */
const CALLEE_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SKIFF_E_FUNCTION_ERROR',
  'SKIFF_E_BAD_RESPONSE',
  'SKIFF_E_OUT_OF_MEMORY',
  'SKIFF_E_INSTANCE_CRASHED',
  'SKIFF_E_PROTOCOL',
]);

/** The host a callee's URL names (a call never went through a listener). */
export const CALL_HOST = 'skiff.internal';

export interface FunctionCallsOptions {
  /** Runs an invocation through the router (resolves the live version, then the executor). */
  invoke(inv: Invocation): Promise<Result>;
  /** The live deployment of a function (throws SKIFF_E_FUNCTION_NOT_FOUND), for its `access.callers`. */
  resolve(name: string): Pick<Deployment, 'callers'>;
  /** The deepest chain allowed (functions.maxCallDepth): a call at this depth already is refused. */
  maxDepth: number;
  /** Calls in flight at once under one root invocation (functions.maxChainCalls). */
  maxChainCalls: number;
}

export class FunctionCalls implements CallHost {
  /**
   * Calls in flight by the root invocation of their chain. The depth a bridge reports cannot be
   * trusted alone (a bridge may name another of its invocations in flight as the caller); this
   * budget bounds what any chain, however it loops or fans out, can hold at once.
   */
  private readonly chains = new Map<string, number>();

  constructor(private readonly opts: FunctionCallsOptions) {}

  /** Calls in flight now, over all chains. */
  get inFlight(): number {
    let n = 0;
    for (const count of this.chains.values()) n += count;
    return n;
  }

  call(caller: CallerContext, request: CallRequest, signal?: AbortSignal): Promise<Result> {
    const parent = caller.invocation;
    const depth = (parent.depth ?? 0) + 1;
    if (depth > this.opts.maxDepth) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_CALL_DEPTH',
          `the call from ${parent.function} to ${request.function} would be ${depth} calls deep, more than functions.maxCallDepth (${this.opts.maxDepth}); is there a cycle?`,
        ),
      );
    }
    const malformed = requestProblem(request);
    if (malformed !== undefined) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_INVALID_REQUEST',
          `the call from ${parent.function} to ${request.function} ${malformed}`,
        ),
      );
    }
    try {
      const { callers } = this.opts.resolve(request.function);
      if (callers !== null && !callers.includes(parent.function)) {
        throw new SkiffError(
          'SKIFF_E_FORBIDDEN',
          `${request.function} does not accept calls from ${parent.function}: its skiff.json access.callers lists ${callers.length === 0 ? 'no function' : callers.join(', ')}`,
        );
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const left = caller.deadline - Date.now();
    if (left <= 0) {
      return Promise.reject(timedOut(parent.function, request.function));
    }
    const rootId = parent.rootId ?? parent.id;
    const held = this.chains.get(rootId) ?? 0;
    if (held >= this.opts.maxChainCalls) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_TOO_MANY_REQUESTS',
          `the chain of calls started by invocation ${rootId} has ${held} calls in flight, functions.maxChainCalls; wait for some to finish`,
          { retryAfterSec: 1 },
        ),
      );
    }
    const query = request.path.indexOf('?');
    const inv: Invocation = {
      id: randomUUID(),
      function: request.function,
      trigger: 'call',
      method: request.method,
      path: query < 0 ? request.path : request.path.slice(0, query),
      query: query < 0 ? '' : request.path.slice(query + 1),
      headers: request.headers,
      body: request.body,
      deadline: caller.deadline,
      host: CALL_HOST,
      caller: parent.function,
      parentId: parent.id,
      rootId,
      depth,
      ...(signal === undefined ? {} : { signal }),
      ...(parent.trace === undefined ? {} : { trace: startSpan(childTrace(parent.trace)) }),
    };
    this.chains.set(rootId, held + 1);
    const release = (): void => {
      const n = (this.chains.get(rootId) ?? 1) - 1;
      if (n <= 0) this.chains.delete(rootId);
      else this.chains.set(rootId, n);
    };
    // The callee's own timeout is capped by the deadline once it runs; this also ends the wait of a
    // call still queued for a free instance when the caller's time is up.
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => reject(timedOut(parent.function, request.function)), left);
      const settle = (): void => {
        clearTimeout(timer);
        release();
      };
      let running: Promise<Result>;
      try {
        running = this.opts.invoke(inv);
      } catch (err) {
        running = Promise.reject(err as Error);
      }
      running.then(
        (result) => {
          settle();
          resolve(result);
        },
        (err: unknown) => {
          settle();
          if (err instanceof SkiffError && CALLEE_ERRORS.has(err.code)) resolve(asResponse(err));
          else reject(err as Error);
        },
      );
    });
  }
}

/** The header bytes a call may carry (`name: value` and CRLF each): what node:http accepts, 16 KiB, less 1 KiB. */
const MAX_CALL_HEADER_BYTES = 15 * 1024;
/** An HTTP token (RFC 9110): what a method or a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters a header value may not hold: what node:http refuses (CR, LF, NUL and other controls). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Why a call's request is one no HTTP client could send, or undefined. A CALL's method and headers
 * come from a function, not through an HTTP parser, and a callee's bridge may hand them to one (the
 * http runtime's server, a program's environment): what it would refuse is refused here.
 */
export function requestProblem(request: CallRequest): string | undefined {
  if (!TOKEN.test(request.method))
    return `has a method that is not an HTTP token: ${JSON.stringify(request.method)}`;
  let bytes = 0;
  for (const [name, value] of request.headers) bytes += name.length + value.length + 4;
  if (bytes > MAX_CALL_HEADER_BYTES) {
    return `has ${request.headers.length} headers of ${bytes} bytes, more than the ${MAX_CALL_HEADER_BYTES} an HTTP server accepts`;
  }
  for (const [name, value] of request.headers) {
    if (!TOKEN.test(name))
      return `has a header name that is not an HTTP token: ${JSON.stringify(name.slice(0, 64))}`;
    if (BAD_VALUE.test(value))
      return `has a header ${name} whose value holds a control character (CR, LF, NUL …) or one above U+00FF`;
  }
  return undefined;
}

function timedOut(caller: string, callee: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_TIMEOUT',
    `the call from ${caller} to ${callee} did not finish before the caller's deadline`,
  );
}

/** A callee's failure as the response an HTTP client would get (without details such as stderr). */
function asResponse(err: SkiffError): Result {
  return {
    status: err.status,
    headers: [
      ['content-type', 'application/json'],
      ['x-skiff-error-code', err.code],
    ],
    body: Buffer.from(JSON.stringify({ error: { code: err.code, message: err.message } })),
  };
}
