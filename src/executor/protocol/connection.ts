/**
 * The platform's side of one runtime-protocol v1 connection (docs/runtime-protocol.md), on any duplex
 * stream: the HELLO → INIT → READY handshake, the table of invocations in flight with their timeouts,
 * the PING liveness probe after a timeout, result checks and size caps, and the end of the connection
 * when the peer breaks the protocol. It knows nothing about processes: what must happen to the peer
 * (kill it, note a timeout) is asked of its owner through `ConnectionHooks`.
 */
import type { Duplex } from 'node:stream';
import { SkiffError } from '../../shared/errors.js';
import { capText } from '../../shared/lines.js';
import type { Invocation, Result } from '../../model/invocation.js';
import type { Deployment } from '../../model/deployment.js';
import { cancelled, protocolError, refusedResult, tooLarge } from '../invocation-errors.js';
import {
  cappedErrorMeta,
  invocationFailure,
  MAX_TEXT_BYTES,
  type ErrorFrameContext,
} from './error-frames.js';
import { CallDesk } from './call-desk.js';
import { LivenessProbe } from './liveness-probe.js';
import { StartGate } from './start-gate.js';
import { DeadlineSweep } from './deadlines.js';
import { onCast } from './cast-desk.js';
import { StateDesk } from './state-desk.js';
import { FrameChannel } from './channel.js';
import { FrameKind, PROTOCOL_VERSION, type FrameTooLargeError } from './frames.js';
import { kindName, type BridgeFrame, type ErrorMeta, type HelloMeta, type InitMeta } from './messages.js';
import { invokeMetaJson } from './invoke-meta.js';
import { InFlightTable } from './in-flight.js';
import type { ConnectionOptions, Pending, StartErrorCode } from './connection-types.js';

export type {
  ConnectionHooks,
  ConnectionOptions,
  LogStreamName,
  StartErrorCode,
} from './connection-types.js';

export class ProtocolConnection {
  /** The function loaded over INIT (errors and log lines name it); unset before. */
  deployment: Deployment | undefined;
  /** The peer's HELLO, once it said one in our protocol version. */
  hello: HelloMeta | undefined;
  private readyNow = false;
  private readonly channel: FrameChannel;
  private readonly pending = new InFlightTable<Pending>();
  private readonly desk: CallDesk;
  private readonly stateDesk: StateDesk;
  private readonly liveness: LivenessProbe;
  private nextId = 1;
  private readonly start = new StartGate();
  /** One timer for the timeouts of every invocation in flight. */
  private readonly deadlines = new DeadlineSweep((now) => this.sweepDeadlines(now));
  /** Set when the peer broke the protocol: the connection is ended, its frames are ignored. */
  private violation: string | undefined;

  constructor(
    stream: Duplex,
    private readonly opts: ConnectionOptions,
  ) {
    // Everything the peer sends is untrusted: bounded by the decoder, parsed by schema per frame, and
    // nothing thrown while handling it may reach the event loop.
    this.channel = new FrameChannel(
      stream,
      opts.maxResponseBytes,
      {
        frame: (frame) => this.onFrame(frame),
        tooLarge: (err) => this.frameTooLarge(err),
        violation: (reason) => this.protocolViolation(reason),
        closed: () => {
          this.readyNow = false;
          this.opts.hooks.closed?.();
        },
      },
      // the INVOKEs of every request read in one turn of the event loop leave in one write
      'turn',
    );
    this.desk = new CallDesk({
      service: () => opts.calls?.(),
      caller: (invocationId) => this.callerOf(invocationId),
      send: (kind, id, meta, body) => this.channel.send(kind, id, meta, body),
      violation: (reason) => this.protocolViolation(reason),
      log: (level, message, id) =>
        this.opts.hooks.log('platform', level, message, this.callerOf(id)?.invocation ?? { id }),
    });
    this.liveness = new LivenessProbe({
      timeoutMs: opts.probeTimeoutMs,
      send: (id, written) => this.channel.send(FrameKind.PING, id, undefined, undefined, written),
      hung: () => this.opts.hooks.hung(),
      // invocations that queued while the probe ran can go now
      ended: () => this.opts.hooks.changed(false),
    });
    this.stateDesk = new StateDesk({
      service: () => opts.state?.(),
      caller: (invocationId) => this.callerOf(invocationId),
      busy: (callId) => this.desk.has(callId),
      send: (kind, id, meta, body) => this.channel.send(kind, id, meta, body),
      violation: (reason) => this.protocolViolation(reason),
    });
  }

  /** Calls to other functions this instance has in flight. */
  get callsInFlight(): number {
    return this.desk.inFlight;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** READY was seen, the peer keeps to the protocol and no liveness probe runs. */
  get accepting(): boolean {
    return this.readyNow && this.liveness.running === undefined && this.violation === undefined;
  }

  /** Why the connection was ended for a protocol violation, if it was. */
  get violated(): string | undefined {
    return this.violation;
  }

  /** While a liveness probe runs: resolves true if the peer answered, false if it did not. */
  get probing(): Promise<boolean> | undefined {
    return this.liveness.running;
  }

  /** Resolves once the peer said HELLO in our protocol version, within timeoutMs. */
  waitHello(timeoutMs: number): Promise<void> {
    return this.start.wait('hello', 'did not say HELLO', timeoutMs);
  }

  /** Sends INIT and resolves on READY within timeoutMs; an ERROR for id 0 fails the start. */
  init(meta: InitMeta, timeoutMs: number): Promise<void> {
    const waiting = this.start.wait('init', 'did not become ready', timeoutMs);
    this.channel.send(FrameKind.INIT, 0, meta);
    return waiting;
  }

  /**
   * Fails the start in progress (if one is) with `the function instance <message>`: the peer's
   * process failed to start or exited, or the owner gives up on it.
   */
  abortStart(message: string, code: StartErrorCode = 'SKIFF_E_INSTANCE_START_FAILED'): void {
    this.start.abort(message, code);
  }

  /** The peer is gone: a start in progress fails, probes fail, every invocation in flight gets `error`. */
  lost(startMessage: string, error: SkiffError): void {
    this.readyNow = false;
    this.desk.close();
    this.stateDesk.close();
    this.abortStart(startMessage);
    this.liveness.failAll();
    this.deadlines.stop();
    for (const [, p] of this.pending.entries()) p.reject(error);
    this.pending.clear();
  }

  invoke(inv: Invocation, timeoutMs: number): Promise<Result> {
    if (!this.readyNow || this.violation !== undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance is not running'),
      );
    }
    if (inv.signal?.aborted === true) return Promise.reject(cancelled());
    const wireId = this.nextId++;
    const deadline = Date.now() + timeoutMs;
    const meta = invokeMetaJson(inv, deadline);
    return new Promise<Result>((resolve, reject) => {
      const now = performance.now();
      const p: Pending = {
        invocationId: inv.id,
        inv,
        deadline,
        due: now + timeoutMs,
        timeoutMs,
        // the timeout is the caller's remaining time, not the function's own
        inheritedDeadline: inv.deadline > 0 && inv.deadline <= deadline + 5,
        resolve,
        reject,
        written: false,
      };
      try {
        this.channel.send(FrameKind.INVOKE, wireId, meta, inv.body, () => {
          p.written = true;
        });
      } catch (err) {
        reject(new SkiffError('SKIFF_E_PAYLOAD_TOO_LARGE', (err as Error).message));
        this.opts.hooks.changed(true);
        return;
      }
      this.pending.set(wireId, p);
      this.deadlines.add(p.due, now);
      inv.signal?.addEventListener('abort', () => this.onAbandoned(wireId, p), { once: true });
    });
  }

  /** Asks the peer to finish its work and exit within graceMs. */
  shutdown(graceMs: number): void {
    this.readyNow = false;
    this.channel.send(FrameKind.SHUTDOWN, 0, { graceMs });
  }

  /** Takes no more invocations and starts no probe (the owner is ending the peer). */
  stopAccepting(): void {
    this.readyNow = false;
  }

  /** Sends a PING; a peer that does not answer within the probe timeout is reported as hung. */
  private checkAlive(): void {
    if (!this.readyNow || this.liveness.running !== undefined) return;
    this.liveness.start(this.nextId++);
  }

  /** A frame announced over the limit: a RESULT fails its invocation as too large; the connection ends. */
  private frameTooLarge(err: FrameTooLargeError): void {
    if (err.kind === FrameKind.RESULT) {
      this.settle(err.id, (p) => this.refuse(p, tooLarge(this.opts.maxResponseBytes)));
    }
    this.protocolViolation(
      `a ${kindName(err.kind)} frame of ${err.length} bytes is larger than the limit of ${err.limit} bytes`,
    );
  }

  /**
   * The peer sent something the protocol does not allow: the owner hears of it first (it logs and ends
   * the peer), a start in progress and every invocation in flight fail with SKIFF_E_PROTOCOL, and the
   * stream is closed (it cannot be trusted any more).
   */
  private protocolViolation(reason: string): void {
    if (this.violation !== undefined) return;
    this.violation = reason;
    this.desk.close();
    this.stateDesk.close();
    this.opts.hooks.violated(reason);
    this.abortStart(`broke the runtime protocol: ${reason}`);
    const error = protocolError(reason);
    this.deadlines.stop();
    for (const [, p] of this.pending.entries()) p.reject(error);
    this.pending.clear();
    this.liveness.failAll();
    this.channel.destroy();
    this.opts.hooks.changed(true);
  }

  private onFrame(frame: BridgeFrame): void {
    switch (frame.kind) {
      case FrameKind.HELLO:
        return this.onHello(frame.meta);
      case FrameKind.READY:
        if (this.start.phase === 'init') {
          this.readyNow = true;
          this.start.pass('init');
        }
        return;
      case FrameKind.RESULT: {
        const { status, headers } = frame.meta;
        return this.settle(frame.id, (p) => {
          const refused = refusedResult(status, headers, frame.body.length, this.opts.maxResponseBytes);
          if (refused === undefined) p.resolve({ status, headers, body: frame.body });
          else this.refuse(p, refused);
        });
      }
      case FrameKind.ERROR:
        return this.onError(frame.id, frame.meta);
      case FrameKind.LOG: {
        const p = this.pending.get(frame.id);
        const text = capText(frame.body, MAX_TEXT_BYTES);
        return this.opts.hooks.log(frame.meta.stream, frame.meta.level, text, p?.inv);
      }
      case FrameKind.PONG:
        if (this.liveness.pong(frame.id) === 'unread') {
          this.protocolViolation(`a PONG for PING ${frame.id}, which it never read`);
        }
        return;
      case FrameKind.CALL:
        if (this.stateDesk.has(frame.id)) {
          return this.protocolViolation(`a CALL with call id ${frame.id}, which is already in flight`);
        }
        return this.desk.onCall(frame.id, frame.meta, frame.body);
      case FrameKind.CAST:
        if (this.stateDesk.has(frame.id)) {
          return this.protocolViolation(`a CAST with call id ${frame.id}, which is already in flight`);
        }
        return onCast(this.desk, frame.id, frame.meta, frame.body);
      case FrameKind.STATE:
        return this.stateDesk.onState(frame.id, frame.meta, frame.body);
    }
  }

  /** The invocation in flight with this id (a CALL names its caller so). */
  private callerOf(
    invocationId: string,
  ): { invocation: Invocation; deadline: number; written: boolean } | undefined {
    const p = this.pending.find((q) => q.invocationId === invocationId);
    return p === undefined ? undefined : { invocation: p.inv, deadline: p.deadline, written: p.written };
  }

  /** Fails an invocation whose result the platform refuses, with a line in the function's logs. */
  private refuse(p: Pending, refused: { error: SkiffError; line: string }): void {
    this.opts.hooks.log('platform', 'error', refused.line, p.inv);
    p.reject(refused.error);
  }

  private onHello(meta: HelloMeta): void {
    if (meta.protocol !== PROTOCOL_VERSION) {
      this.abortStart(`runtime speaks protocol ${meta.protocol}, the platform speaks ${PROTOCOL_VERSION}`);
      return;
    }
    if (this.start.phase !== 'hello') return;
    this.hello = meta;
    this.start.pass('hello');
  }

  private onError(wireId: number, full: ErrorMeta): void {
    const meta = cappedErrorMeta(full);
    if (wireId === 0) {
      const detail = meta.stack ?? meta.message;
      const handler = this.deployment?.handler ?? '(no function)';
      this.opts.hooks.log('stderr', 'error', `failed to load ${handler}: ${detail}`);
      // the kind is in the stack only ("SyntaxError: Unexpected token"): it tells the deploy to look for the place
      const kind = /^SyntaxError\b/m.test(meta.stack ?? '') ? 'SyntaxError: ' : '';
      this.abortStart(`failed to load ${handler}: ${kind}${meta.message}`);
      return;
    }
    if (meta.code === 'CANCELLED') return;
    const context: ErrorFrameContext = {
      hooks: this.opts.hooks,
      deployment: this.deployment,
      uncaught: (invocationId, callFailure) => this.desk.uncaught(invocationId, callFailure),
    };
    this.settle(wireId, (p) => p.reject(invocationFailure(meta, p, context)));
  }

  private settle(wireId: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(wireId);
    if (p === undefined) return;
    if (!p.written) {
      // it answered blindly (the request is still queued here): a peer that never reads its socket
      // would let every request body it is sent pile up in the platform's memory
      this.protocolViolation(`an answer to invocation ${wireId}, which it never read`);
      return;
    }
    this.pending.delete(wireId);
    fn(p);
    this.desk.forget(p.invocationId);
    this.opts.hooks.changed(true);
  }

  /** Nobody waits for the invocation any more (its caller ended): the peer is told to stop it. */
  private onAbandoned(wireId: number, p: Pending): void {
    if (this.pending.get(wireId) !== p) return;
    this.pending.delete(wireId);
    this.desk.forget(p.invocationId);
    this.channel.send(FrameKind.CANCEL, wireId);
    this.opts.hooks.log('platform', 'info', 'invocation cancelled: its caller ended', p.inv);
    // no liveness probe: a callee busy with CPU work would miss it and be killed as hung, counted as
    // its crash; whoever called it could put any function into a crash loop that way
    p.reject(cancelled());
    this.opts.hooks.changed(true);
  }

  /** Times out every invocation due by `now`; returns the earliest due time left (Infinity: none). */
  private sweepDeadlines(now: number): number {
    let next = Infinity;
    for (const [wireId, p] of this.pending.entries()) {
      if (p.due <= now) this.onTimeout(wireId, p);
      else if (p.due < next) next = p.due;
    }
    return next;
  }

  private onTimeout(wireId: number, p: Pending): void {
    if (this.pending.get(wireId) !== p) return;
    this.pending.delete(wireId);
    this.desk.forget(p.invocationId);
    this.channel.send(FrameKind.CANCEL, wireId);
    this.opts.hooks.timedOut();
    const line = `invocation timed out after ${p.timeoutMs} ms`;
    this.opts.hooks.log('platform', 'warn', line, p.inv);
    // Work that blocks the peer past the function's own timeout takes it down with it (the next call
    // gets a new one). Not when the time was a caller's: a caller with a short deadline could have any
    // busy function killed as hung, and into a crash loop.
    if (!p.inheritedDeadline) this.checkAlive();
    p.reject(new SkiffError('SKIFF_E_TIMEOUT', `the function did not answer within ${p.timeoutMs} ms`));
    this.opts.hooks.changed(true);
  }
}
