/** The shapes a protocol connection (connection.ts) shares with its owner, and its own bookkeeping. */
import type { SkiffError } from '../../shared/errors.js';
import type { Invocation, Result } from '../../model/invocation.js';
import type { CallService } from '../calls.js';
import type { StateService } from '../state-service.js';
import type { LogMeta } from './messages.js';

export type LogStreamName = LogMeta['stream'] | 'platform';
export type StartErrorCode = 'SKIFF_E_INSTANCE_START_FAILED' | 'SKIFF_E_START_TIMEOUT';

export interface ConnectionHooks {
  /**
   * A line for the function's logs (never throws); `rootId`: the first invocation of the chain the
   * invocation is part of (a call or cast), so that the logs of a chain can be followed.
   */
  log(stream: LogStreamName, level: string, message: string, inv?: LogSubject): void;
  /** Capacity changed: an invocation settled (`settled`), or a liveness probe ended. */
  changed(settled: boolean): void;
  /** An invocation timed out (CANCEL was sent; a probe starts). */
  timedOut(): void;
  /** The peer broke the protocol: the connection is closed; its owner ends the peer. */
  violated(reason: string): void;
  /** The peer did not answer the liveness probe: its owner ends it. */
  hung(): void;
  /** Whether a FUNCTION_ERROR was really the OOM killer's work (the owner can tell). */
  outOfMemory(): boolean;
  /**
   * The stream closed: the peer closed its end or went away. Nothing sent can arrive any more; the
   * connection takes no more invocations, and its owner ends a peer that lives on without it.
   */
  closed?(): void;
}

export interface ConnectionOptions {
  /** The largest response body; larger frames end the connection. */
  maxResponseBytes: number;
  /** After a timeout, how long the peer has to answer a PING. */
  probeTimeoutMs: number;
  hooks: ConnectionHooks;
  /** How CALL frames are served now (asked per CALL); without it every CALL gets a FAIL. */
  calls?: (() => CallService | undefined) | undefined;
  /** Serves STATE frames (`ctx.state`); absent or undefined: every state operation is refused. */
  state?: (() => StateService | undefined) | undefined;
}

export interface Pending {
  invocationId: string;
  /** The invocation (a CALL made on its behalf inherits its chain and deadline). */
  inv: Invocation;
  /** Its absolute deadline, epoch milliseconds (what the peer is told). */
  deadline: number;
  /** When it times out, on the monotonic clock (`performance.now()`): the connection's deadline sweep. */
  due: number;
  /** Its timeout, for the message of a timeout. */
  timeoutMs: number;
  /** Its deadline is a caller's (shorter than the function's own timeout): no liveness probe at it. */
  inheritedDeadline: boolean;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
  /** Whether its INVOKE is on its way out: an answer before that was forged by a peer not reading. */
  written: boolean;
}

export interface Ping {
  answer: (alive: boolean) => void;
  /** Whether the PING is on its way out (a PONG before that answers a PING the peer never read). */
  written: boolean;
}

export interface StartWaiter {
  phase: 'hello' | 'init';
  resolve: () => void;
  reject: (err: SkiffError) => void;
}

/** What a function's log line says of its invocation: its id, its chain's root, its trace. */
export type LogSubject = Pick<Invocation, 'id' | 'rootId' | 'trace'>;
