/**
 * GuestAPIHost as Skiff serves it to one attached instance (on that instance's own listener): every
 * request must carry the instance's current id as `originator`; aliases resolve through the member's
 * output mapping (`self` is the instance itself); casts and delayed casts are written to the async
 * queue before the RPC returns; calls run with the rails of `ctx.call`; Sync keeps the state under the
 * member's name; TelemetryLog writes into the member's log. Texts of refusals follow upstream's.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { CallerContext, CallHost, CastHost } from '../../executor/calls.js';
import { MAX_CAST_DELAY_MS } from '../../executor/calls.js';
import type { Invocation, Result } from '../../model/invocation.js';
import type { FunctionState } from '../../model/state.js';
import type { FunctionLogSink } from '../../model/log-record.js';
import type { Logger } from '../../shared/logger.js';
import type {
  CallReturn,
  DelayedEventData,
  InstanceId,
  OutputEventData,
  OutputEventDataRaw,
  SyncData,
  TelemetryLogEvent,
} from './guest-api.js';
import type { AttachedInstance } from './instance.js';

/** The state key Sync writes and Init reads, under the member's name. */
export const SYNC_STATE_KEY = 'edgeless-sync';

export interface HostNode {
  /** The Skiff name an alias of this instance's member maps to, or undefined (unmapped). */
  alias(instance: AttachedInstance, alias: string): string | undefined;
  /** The Skiff name of the attached instance of this id in the same workflow, or undefined. */
  raw(instance: AttachedInstance, dst: InstanceId): string | undefined;
  casts: CastHost;
  calls: CallHost;
  state: FunctionState;
  logs: FunctionLogSink;
  logger: Logger;
  callTimeoutMs: number;
  /** The largest body of a host Call (as of a function's `ctx.call`: http.maxBodyBytes). */
  maxCallBodyBytes: number;
}

/** Host Calls one instance may have in flight at once (a function instance's calls are bounded too). */
export const MAX_HOST_CALLS_IN_FLIGHT = 32;

const LEVELS: Record<string, string> = {
  LOG_ERROR: 'error',
  LOG_WARN: 'warn',
  LOG_INFO: 'info',
  LOG_DEBUG: 'debug',
  LOG_TRACE: 'trace',
};
const MAX_TARGET_CHARS = 128;
const MAX_LOG_CHARS = 16 * 1024;

type Callback = grpc.sendUnaryData<unknown>;
type Unary<T> = (call: grpc.ServerUnaryCall<T, unknown>, callback: Callback) => void;

const status = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });

export function hostHandlers(node: HostNode, instance: AttachedInstance): grpc.UntypedServiceImplementation {
  /** The parsing rules of upstream: the originator is checked (after `dst` for raw events). */
  const originatorProblem = (what: string, originator: InstanceId | null): string | undefined => {
    if (originator === null) return `Error when parsing ${what} message: missing originator field`;
    // an instance whose member is removed acts no more: nothing it sends now may outlive the member
    // (its state is deleted with it)
    if (instance.removing) return `${instance.name} is being removed: its requests are no longer taken`;
    if (!instance.owns(originator) && !ownsPending(instance, originator))
      return `Error when parsing ${what} message: unknown originator ${originator.node_id}/${originator.function_id}: it is not the instance this host serves`;
    return undefined;
  };

  /**
   * The invocation the instance acts for: the event it is handling, else the last one it handled (a
   * guest that answers first and casts afterwards stays in that chain and its budget), else a new
   * root of its own (before its first event).
   */
  const caller = (): CallerContext => {
    const current = instance.current ?? instance.last;
    const now = Date.now();
    if (current !== undefined) {
      const own = current === instance.current && current.deadline > 0;
      return { invocation: current, deadline: own ? current.deadline : now + node.callTimeoutMs };
    }
    const root: Invocation = {
      id: randomUUID(),
      function: instance.name,
      trigger: 'cast',
      method: 'POST',
      path: '/',
      query: '',
      headers: [],
      body: Buffer.alloc(0),
      deadline: 0,
      host: '',
    };
    return { invocation: root, deadline: now + node.callTimeoutMs };
  };

  const target = (alias: string): string | undefined =>
    alias === 'self' ? instance.name : node.alias(instance, alias);

  const unmapped = (alias: string, what: string): void => {
    const message = `unknown alias ${JSON.stringify(alias)} of ${instance.name} when ${what}: dropped (the workflow maps no such output)`;
    // the member's log is rate-limited; the platform's log is the operator's, not a guest's to fill
    node.logger.debug({ instance: instance.name, alias }, message);
    node.logs.append(instance.name, { stream: 'platform', level: 'warn', message });
  };

  const cast = (to: string, msg: Buffer, delayMs: number): Promise<string[]> =>
    node.casts.cast(caller(), { function: to, method: 'POST', path: '/', headers: [], body: msg, delayMs });

  let callsInFlight = 0;
  const call = async (to: string, msg: Buffer): Promise<CallReturn> => {
    if (msg.length > node.maxCallBodyBytes || callsInFlight >= MAX_HOST_CALLS_IN_FLIGHT) {
      node.logs.append(instance.name, {
        stream: 'platform',
        level: 'warn',
        message:
          msg.length > node.maxCallBodyBytes
            ? `${instance.name} called ${to} with ${msg.length} bytes, more than http.maxBodyBytes (${node.maxCallBodyBytes}): answered CALL_RET_ERR`
            : `${instance.name} has ${callsInFlight} host calls in flight, the most one instance may: answered CALL_RET_ERR`,
      });
      return { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) };
    }
    callsInFlight++;
    try {
      return await callOnce(to, msg);
    } finally {
      callsInFlight--;
    }
  };

  const callOnce = async (to: string, msg: Buffer): Promise<CallReturn> => {
    // a call to the instance itself while it handles an event would wait for its own lane
    if (to === instance.name && instance.current !== undefined) {
      node.logs.append(instance.name, {
        stream: 'platform',
        level: 'warn',
        message: `${instance.name} called itself while handling an event: answered CALL_RET_ERR (it would wait for itself)`,
      });
      return { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) };
    }
    try {
      const result = await node.calls.call(caller(), {
        function: to,
        method: 'POST',
        path: '/',
        headers: [],
        body: msg,
      });
      return callReturn(result);
    } catch (err) {
      node.logger.debug({ err, instance: instance.name, target: to }, 'error occurred when calling an event');
      return { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) };
    }
  };

  const Cast: Unary<OutputEventData> = (rpc, done) => {
    const { originator, alias, msg } = rpc.request;
    const problem = originatorProblem('an OutputEventData', originator);
    if (problem !== undefined) return done(status(grpc.status.INVALID_ARGUMENT, problem));
    const to = target(alias);
    if (to === undefined) {
      unmapped(alias, 'casting');
      return done(null, {});
    }
    cast(to, msg, 0).then(
      () => done(null, {}),
      (err: Error) => done(status(grpc.status.INTERNAL, `Error when casting an event: ${err.message}`)),
    );
  };

  /**
   * A raw event's checks, in upstream's order (`dst`, then the originator): its refusal, or the Skiff
   * name `dst` is in the sender's workflow (undefined: nobody there has that id).
   */
  const rawTarget = (
    request: OutputEventDataRaw,
  ): { refused: Partial<grpc.StatusObject> } | { to: string | undefined; dst: InstanceId } => {
    const { originator, dst } = request;
    if (dst === null) {
      const details = 'Error when parsing an OutputEventDataRaw message: dst is missing';
      return { refused: status(grpc.status.INVALID_ARGUMENT, details) };
    }
    const problem = originatorProblem('an OutputEventDataRaw', originator);
    if (problem !== undefined) return { refused: status(grpc.status.INVALID_ARGUMENT, problem) };
    return { to: instance.owns(dst) ? instance.name : node.raw(instance, dst), dst };
  };

  const CastRaw: Unary<OutputEventDataRaw> = (rpc, done) => {
    const checked = rawTarget(rpc.request);
    if ('refused' in checked) return done(checked.refused);
    const { to, dst } = checked;
    const { msg } = rpc.request;
    if (to === undefined) {
      const message = `no function instance with id ${dst.node_id}/${dst.function_id} in the workflow of ${instance.name} when raw-casting an event: dropped`;
      node.logger.debug({ instance: instance.name }, message);
      node.logs.append(instance.name, { stream: 'platform', level: 'warn', message });
      return done(null, {});
    }
    cast(to, msg, 0).then(
      () => done(null, {}),
      (err: Error) => done(status(grpc.status.INTERNAL, `Error when raw-casting an event: ${err.message}`)),
    );
  };

  const Call: Unary<OutputEventData> = (rpc, done) => {
    const { originator, alias, msg } = rpc.request;
    const problem = originatorProblem('an OutputEventData', originator);
    if (problem !== undefined) return done(status(grpc.status.INVALID_ARGUMENT, problem));
    const to = target(alias);
    if (to === undefined) {
      unmapped(alias, 'calling');
      return done(null, { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) });
    }
    void call(to, msg).then((ret) => done(null, ret));
  };

  const CallRaw: Unary<OutputEventDataRaw> = (rpc, done) => {
    const checked = rawTarget(rpc.request);
    if ('refused' in checked) return done(checked.refused);
    if (checked.to === undefined) return done(null, { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) });
    void call(checked.to, rpc.request.msg).then((ret) => done(null, ret));
  };

  const DelayedCast: Unary<DelayedEventData> = (rpc, done) => {
    const { originator, alias, msg, delay } = rpc.request;
    const problem = originatorProblem('a DelayedEventData', originator);
    if (problem !== undefined) return done(status(grpc.status.INVALID_ARGUMENT, problem));
    const delayMs = Number(delay);
    if (!Number.isSafeInteger(delayMs) || delayMs > MAX_CAST_DELAY_MS)
      return done(
        status(
          grpc.status.INVALID_ARGUMENT,
          `Error when parsing a DelayedEventData message: a delay is at most ${MAX_CAST_DELAY_MS} ms (24 hours) on Skiff, not ${delay}`,
        ),
      );
    const to = target(alias);
    if (to === undefined) {
      unmapped(alias, 'casting an event with delay');
      return done(null, {});
    }
    cast(to, msg, delayMs).then(
      () => done(null, {}),
      (err: Error) =>
        done(status(grpc.status.INTERNAL, `Error when casting a delayed event: ${err.message}`)),
    );
  };

  const TelemetryLog: Unary<TelemetryLogEvent> = (rpc, done) => {
    const { originator, log_level: level, target: logger, msg } = rpc.request;
    const problem = originatorProblem('a TelemetryLogEvent', originator);
    if (problem !== undefined) return done(status(grpc.status.INVALID_ARGUMENT, problem));
    const mapped = typeof level === 'string' ? LEVELS[level] : undefined;
    if (mapped === undefined)
      return done(
        status(
          grpc.status.INVALID_ARGUMENT,
          `Error when parsing a TelemetryLogEvent message: invalid telemetry event log level: ${String(level)}`,
        ),
      );
    const name = logger.slice(0, MAX_TARGET_CHARS);
    const text = msg.length > MAX_LOG_CHARS ? `${msg.slice(0, MAX_LOG_CHARS)}…` : msg;
    node.logs.append(instance.name, {
      stream: 'log',
      level: mapped,
      message: text,
      logger: name,
      ...(instance.current === undefined ? {} : { invocationId: instance.current.id }),
    });
    done(null, {});
  };

  const Slf: Unary<unknown> = (_rpc, done) => {
    done(null, instance.id ?? instance.pendingId ?? { node_id: '', function_id: '' });
  };

  const Sync: Unary<SyncData> = (rpc, done) => {
    const { originator, serialized_state: state } = rpc.request;
    const problem = originatorProblem('a SyncData', originator);
    if (problem !== undefined) return done(status(grpc.status.INVALID_ARGUMENT, problem));
    node.state.set(instance.name, SYNC_STATE_KEY, state, 'application/octet-stream').then(
      () => done(null, {}),
      (err: Error) => done(status(grpc.status.INTERNAL, `Error when synchronizing: ${err.message}`)),
    );
  };

  return {
    Cast,
    CastRaw,
    Call,
    CallRaw,
    DelayedCast,
    TelemetryLog,
    Slf,
    Sync,
  } as grpc.UntypedServiceImplementation;
}

function ownsPending(instance: AttachedInstance, id: InstanceId): boolean {
  const pending = instance.pendingId;
  return pending !== undefined && pending.node_id === id.node_id && pending.function_id === id.function_id;
}

/** What a target's result is to the calling instance: an attached target's own answer, else by status. */
function callReturn(result: Result): CallReturn {
  const kind = result.headers.find(([k]) => k.toLowerCase() === 'x-edgeless-call-ret')?.[1];
  if (kind === 'err') return { type: 'CALL_RET_ERR', msg: result.body };
  if (kind === 'no-reply') return { type: 'CALL_RET_NO_REPLY', msg: Buffer.alloc(0) };
  if (kind === 'reply') return { type: 'CALL_RET_REPLY', msg: result.body };
  if (result.status === 204) return { type: 'CALL_RET_NO_REPLY', msg: Buffer.alloc(0) };
  if (result.status >= 200 && result.status < 300) return { type: 'CALL_RET_REPLY', msg: result.body };
  return { type: 'CALL_RET_ERR', msg: result.body };
}
