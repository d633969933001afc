/**
 * The CALL side of one protocol connection (docs/runtime-protocol.md, "Calls"): a bridge asks the
 * platform to call another function on behalf of one of its invocations in flight; the platform
 * answers under the bridge's call id with REPLY (the callee's response, any status) or FAIL (a stable
 * SKIFF_E_* code). Call ids are the bridge's own id space, apart from the INVOKE wire ids.
 *
 * A CALL whose meta fails its schema never gets here (a protocol violation, like any frame). A CALL
 * reusing a call id still in flight, or made for an invocation whose INVOKE the bridge never read, is a
 * protocol violation too (only a broken bridge does that). A CALL for an invocation that is no longer in
 * flight (it timed out or was cancelled while the frame was on its way) is a FAIL: that race is normal.
 */
import { SkiffError } from '../../shared/errors.js';
import type { CallerContext, CallService } from '../calls.js';
import type { Result } from '../../model/invocation.js';
import { FrameKind } from './frames.js';
import type { CallMeta, FailMeta, ReplyMeta } from './messages.js';

export interface CallDeskDeps {
  /** The calls this instance may make now, or undefined where the platform serves none. */
  service(): CallService | undefined;
  /** The caller's invocation in flight, by its invocation id; `written`: its INVOKE went out. */
  caller(invocationId: string): (CallerContext & { written: boolean }) | undefined;
  send(kind: number, id: number, meta: object, body?: Uint8Array): void;
  violation(reason: string): void;
  /** A line for the function's logs. */
  log(level: string, message: string, invocationId: string): void;
}

/**
 * FAIL codes that, when the handler does not catch them, fail the caller with the same code rather than
 * as a function error: they describe the chain, so a runaway chain answers 508 at its root.
 */
const CARRIED_CODES: ReadonlySet<string> = new Set(['SKIFF_E_CALL_DEPTH']);

/** What a request in the call id space is, for checks and log lines. */
export interface DeskRequest {
  verb: 'call' | 'cast';
  /** The invocation on whose behalf it is made. */
  invocationId: string;
  /** The function it names. */
  function: string;
}

export class CallDesk {
  /** Call ids in flight → the caller's invocation id, and what cancels the callee when the caller ends. */
  private readonly calls = new Map<
    number,
    { invocationId: string; abort: AbortController; verb: DeskRequest['verb'] }
  >();
  /** Invocation id → how many casts it made (cleared when the invocation settles). */
  private readonly casts = new Map<string, number>();
  /** Invocation id → the first carried refusal it was sent (cleared when the invocation settles). */
  private readonly carried = new Map<string, SkiffError>();
  private closed = false;

  constructor(private readonly deps: CallDeskDeps) {}

  get inFlight(): number {
    return this.calls.size;
  }

  /** Whether this call id is in flight (STATE frames share the id space). */
  has(callId: number): boolean {
    return this.calls.has(callId);
  }

  onCall(callId: number, meta: CallMeta, body: Buffer): void {
    this.serve(
      callId,
      { verb: 'call', invocationId: meta.invocationId, function: meta.function },
      body,
      (caller, service, signal) =>
        service.host.call(
          caller,
          {
            function: meta.function,
            method: (meta.method ?? 'POST').toUpperCase(),
            path: meta.path ?? '/',
            headers: meta.headers ?? [],
            body,
          },
          signal,
        ),
    );
  }

  /**
   * Serves one request in the call id space (a CALL, or a CAST through cast-desk.ts): checks the call
   * id, the caller and the instance's limits, then runs `run` and answers with its result as REPLY or
   * its refusal as FAIL. `signal` aborts when the caller settles or its connection ends.
   */
  serve(
    callId: number,
    request: DeskRequest,
    body: Buffer,
    run: (caller: CallerContext, service: CallService, signal: AbortSignal) => Promise<Result>,
  ): void {
    if (this.closed) return;
    const kind = request.verb.toUpperCase();
    if (this.calls.has(callId)) {
      this.deps.violation(`a ${kind} with call id ${callId}, which is already in flight`);
      return;
    }
    const caller = this.deps.caller(request.invocationId);
    if (caller !== undefined && !caller.written) {
      this.deps.violation(`a ${kind} for invocation ${request.invocationId}, which it never read`);
      return;
    }
    const service = this.deps.service();
    if (service === undefined) {
      return this.fail(callId, 'SKIFF_E_INTERNAL', 'this platform serves no calls between functions');
    }
    if (caller === undefined) {
      return this.fail(
        callId,
        'SKIFF_E_INVOCATION_NOT_FOUND',
        `the calling invocation ${JSON.stringify(request.invocationId.slice(0, 64))} is not in flight (it ended, timed out or was cancelled)`,
      );
    }
    const { maxInFlight, maxBodyBytes } = service.limits;
    if (this.calls.size >= maxInFlight) {
      return this.fail(
        callId,
        'SKIFF_E_TOO_MANY_REQUESTS',
        `this instance has ${maxInFlight} calls in flight, its limit; wait for one to finish`,
      );
    }
    if (body.length > maxBodyBytes) {
      return this.fail(
        callId,
        'SKIFF_E_PAYLOAD_TOO_LARGE',
        `the ${request.verb}'s body of ${body.length} bytes is larger than the limit of ${maxBodyBytes} bytes`,
      );
    }
    const abort = new AbortController();
    this.calls.set(callId, { invocationId: request.invocationId, abort, verb: request.verb });
    let running: Promise<Result>;
    try {
      running = run({ invocation: caller.invocation, deadline: caller.deadline }, service, abort.signal);
    } catch (err) {
      running = Promise.reject(err as Error);
    }
    running.then(
      (result) => this.reply(callId, result),
      (err: unknown) => this.failed(callId, err, request),
    );
  }

  /** The number of the next cast of an invocation in flight (0 for its first). */
  nextCast(invocationId: string): number {
    const n = this.casts.get(invocationId) ?? 0;
    this.casts.set(invocationId, n + 1);
    return n;
  }

  /** The connection ended: the calls still running are cancelled, their answers go nowhere. */
  close(): void {
    this.closed = true;
    this.casts.clear();
    const running = [...this.calls.values()];
    this.calls.clear();
    for (const call of running) call.abort.abort();
    this.carried.clear();
  }

  /**
   * The error an invocation fails with when its handler did not catch a call's FAIL (ERROR meta
   * `callFailure`): the refusal itself, if it is one that is carried up the chain and this platform
   * really sent it to this invocation; else undefined (an ordinary function error).
   */
  uncaught(invocationId: string, code: string | undefined): SkiffError | undefined {
    const error = this.carried.get(invocationId);
    return code !== undefined && error?.code === code ? error : undefined;
  }

  /**
   * The invocation settled: forget what it was sent, and cancel the calls it left running (each is
   * answered FAIL SKIFF_E_CANCELLED at once; the callee is cancelled).
   */
  forget(invocationId: string): void {
    this.carried.delete(invocationId);
    this.casts.delete(invocationId);
    for (const [callId, call] of this.calls) {
      // a cast is a write to the queue that completes on its own: it is answered with its ids
      if (call.invocationId !== invocationId || call.verb === 'cast') continue;
      this.calls.delete(callId);
      call.abort.abort();
      // the bridge may still hold the call's promise: it is answered, so nothing waits on it forever
      this.fail(callId, 'SKIFF_E_CANCELLED', 'the call was cancelled: the invocation that made it ended');
    }
  }

  private reply(callId: number, result: Result): void {
    if (!this.calls.delete(callId) || this.closed) return;
    const meta: ReplyMeta = { status: result.status, headers: result.headers };
    try {
      this.deps.send(FrameKind.REPLY, callId, meta, result.body);
    } catch (err) {
      // headers or body too large for a frame: the caller still gets an answer
      this.fail(callId, 'SKIFF_E_PAYLOAD_TOO_LARGE', (err as Error).message);
    }
  }

  private failed(callId: number, err: unknown, request: DeskRequest): void {
    const invocationId = this.calls.get(callId)?.invocationId;
    if (!this.calls.delete(callId) || this.closed) return;
    const error =
      err instanceof SkiffError
        ? err
        : new SkiffError('SKIFF_E_INTERNAL', 'the call failed inside the platform', { cause: err });
    if (invocationId !== undefined) {
      const name = JSON.stringify(request.function.slice(0, 64));
      this.deps.log(
        'warn',
        `${request.verb} to ${name} failed: ${error.code}: ${error.message}`,
        invocationId,
      );
      // only for a caller still in flight: one that settled was forgotten, and nothing would forget it again
      const live = this.deps.caller(invocationId) !== undefined;
      if (live && CARRIED_CODES.has(error.code) && !this.carried.has(invocationId)) {
        this.carried.set(invocationId, new SkiffError(error.code, error.message));
      }
    }
    this.fail(callId, error.code, error.message);
  }

  private fail(callId: number, code: string, message: string): void {
    if (this.closed) return;
    const meta: FailMeta = { code, message };
    this.deps.send(FrameKind.FAIL, callId, meta);
  }
}
