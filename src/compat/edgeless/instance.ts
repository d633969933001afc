/**
 * One attached EDGELESS function instance (`grpc:<url>`): Skiff is its node. It owns the instance's
 * GuestAPIHost listener (one port per instance, announced in Boot, so `Slf` knows the caller and an
 * originator must match the port's instance), boots it (connect and Boot retried every 10 ms within
 * bootTimeoutMs; a refused Boot gets one Stop first, for an instance an earlier run of Skiff left
 * initialised), sends Init with the init payload and the last synced state, and delivers events one
 * at a time through its lane: a queued event as Cast, a synchronous one as Call. A failed delivery
 * marks it down; the next event boots it again. docs/compat/edgeless.md.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Server as NetServer } from 'node:net';
import { SkiffError } from '../../shared/errors.js';
import { ConnectionGuard, type ConnectionLimits } from '../../shared/listeners.js';
import type { Logger } from '../../shared/logger.js';
import { listenGrpc, shutdownGrpc } from '../../triggers/grpc-listen.js';
import type { Invocation, Result } from '../../model/invocation.js';
import type { CallReturn, GuestApiServices, InstanceId } from './guest-api.js';
import { Lane } from './lane.js';

/** What the instance needs from its node. */
export interface InstanceDeps {
  /** The Skiff name it is reached under (`<workflow>--<member>`). */
  name: string;
  /** `http://host:port` (or https) of its GuestAPIFunction. */
  url: string;
  initPayload: string;
  nodeId: string;
  /** Where its GuestAPIHost listener binds, and the host Boot announces for it. */
  bindHost: string;
  announceHost: string;
  bootTimeoutMs: number;
  /** The longest a Cast or Call may take when the invocation sets no deadline of its own. */
  callTimeoutMs: number;
  maxPending: number;
  /** The caps of its host listener's connections. */
  limits: ConnectionLimits;
  /** Settles once the instance this one replaces (same process, new start) has been stopped. */
  after?: Promise<void>;
  services: GuestApiServices;
  /** The state Init carries (the last Sync), or an empty buffer. */
  syncedState(): Promise<Buffer>;
  /** The GuestAPIHost handlers of this instance. */
  hostHandlers(instance: AttachedInstance): grpc.UntypedServiceImplementation;
  logger: Logger;
  /** A warning for the people who run the member: into its log (the platform's at debug). */
  warn(message: string): void;
}

/** The trigger kinds delivered as a Cast (nobody waits for an answer); the others are Calls. */
const CAST_TRIGGERS = new Set(['async', 'cast', 'cron']);
const RPC_DEADLINE_MS = 5_000;
const RETRY_MS = 10;
/** How long a stop waits for the event in delivery before it cancels it. */
const STOP_GRACE_MS = 2_000;
/** The largest guest API message either way (payloads beyond async.maxBodyBytes are refused anyway). */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

type Client = grpc.Client &
  Record<
    string,
    (
      req: unknown,
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: unknown) => void,
    ) => grpc.ClientUnaryCall
  >;

export class AttachedInstance {
  /** The id of the current boot; undefined while down. */
  id: InstanceId | undefined;
  /** The event being delivered now: the parent of the host calls the instance makes meanwhile. */
  current: Invocation | undefined;
  /** The last event delivered: the parent of host calls made between events. */
  last: Invocation | undefined;
  readonly lane: Lane;
  private server: grpc.Server | undefined;
  /** Cast and Call RPCs under way (cancelled by a stop after its grace). */
  private readonly inFlight = new Set<grpc.ClientUnaryCall>();
  private listening: { servers: NetServer[]; guard: ConnectionGuard } | undefined;
  private hostUrl: string | undefined;
  private client: Client | undefined;
  private booting: Promise<void> | undefined;
  private stopped = false;

  constructor(readonly deps: InstanceDeps) {
    this.lane = new Lane(deps.maxPending, deps.name);
  }

  get name(): string {
    return this.deps.name;
  }

  /**
   * Whether it is being stopped for good (its member removed): its host requests are refused from
   * then on. One replaced by a new start of the same member finishes its event, output included.
   */
  get removing(): boolean {
    return this.stopped && this.stopReason === 'removed';
  }

  /** Whether this id is the current boot's (both parts, as strings). */
  owns(id: InstanceId | null | undefined): boolean {
    return (
      id != null &&
      this.id !== undefined &&
      id.node_id === this.id.node_id &&
      id.function_id === this.id.function_id
    );
  }

  /** Boots the instance unless it is up (one boot at a time; failures reject every waiter). */
  ensure(): Promise<void> {
    if (this.stopped) return Promise.reject(this.stoppedError());
    if (this.id !== undefined) return Promise.resolve();
    this.booting ??= this.boot().finally(() => {
      this.booting = undefined;
    });
    return this.booting;
  }

  /**
   * Delivers one invocation through the lane: Cast (queued ones) or Call (synchronous ones). Its
   * deadline (its own, else callTimeoutMs from now) runs from here: time waiting in the lane counts.
   * A call of the chain the instance is handling now would wait for itself: refused at once.
   */
  deliver(inv: Invocation, src: InstanceId): Promise<Result> {
    const deadline = inv.deadline > 0 ? inv.deadline : Date.now() + this.deps.callTimeoutMs;
    const chain = inv.rootId ?? inv.id;
    const busy = this.current;
    if (!CAST_TRIGGERS.has(inv.trigger) && busy !== undefined && (busy.rootId ?? busy.id) === chain) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_CALL_DEPTH',
          `${this.name} is handling an event of this same chain (${chain}): a call to it would wait for itself; is there a cycle?`,
        ),
      );
    }
    let late = false;
    const job = this.lane.run(async (): Promise<Result> => {
      if (late) throw this.timedOut();
      await this.ensure();
      if (late || Date.now() >= deadline) throw this.timedOut();
      this.current = inv;
      // what host calls between events need of it: its place in the chain (not its body or signal)
      const { body: _body, signal: _signal, ...place } = inv;
      this.last = { ...place, body: Buffer.alloc(0) };
      try {
        const timeout = Math.max(1, deadline - Date.now());
        if (CAST_TRIGGERS.has(inv.trigger)) {
          await this.rpc('Cast', { src, msg: inv.body }, timeout);
          return { status: 204, headers: [['x-edgeless-call-ret', 'no-reply']], body: Buffer.alloc(0) };
        }
        const ret = (await this.rpc('Call', { src, msg: inv.body }, timeout)) as CallReturn;
        return this.callResult(ret);
      } finally {
        this.current = undefined;
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          late = true;
          reject(this.timedOut());
        },
        Math.max(1, deadline - Date.now()),
      );
    });
    // once started, the job ends by the same deadline (its RPC carries it)
    job.catch(() => undefined);
    return Promise.race([job, expired]).finally(() => clearTimeout(timer));
  }

  private timedOut(): SkiffError {
    return new SkiffError(
      'SKIFF_E_TIMEOUT',
      `the event for the EDGELESS instance ${this.name} was not answered by its deadline (waiting for earlier events counts)`,
    );
  }

  /**
   * Stops the instance: waits for the event in delivery, sends Stop, closes its listener. The events
   * waiting behind it fail: for good when its workflow was deleted (`removed`), otherwise with
   * SKIFF_E_SHUTTING_DOWN, which the async queue tries again later (Skiff stops, or the workflow was
   * applied anew and another instance takes the name).
   */
  async stop(why: 'removed' | 'replaced' = 'removed'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReason = why;
    // the event being delivered gets a moment to end (those waiting behind it are refused), then it
    // is cancelled: a guest that never answers does not hold the stop
    const drained = this.lane.run(() => Promise.resolve()).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    for (const pending of this.inFlight) pending.cancel();
    await this.booting?.catch(() => undefined);
    if (this.id !== undefined) {
      await this.rpc('Stop', {}, RPC_DEADLINE_MS).catch((err: unknown) =>
        this.deps.logger.warn({ err, instance: this.name }, 'error when stopping container function'),
      );
    }
    this.id = undefined;
    this.client?.close();
    this.client = undefined;
    const server = this.server;
    const listening = this.listening;
    this.server = undefined;
    this.listening = undefined;
    for (const net of listening?.servers ?? []) net.close();
    // host calls in flight get a moment; a half-sent request does not hold the stop
    if (server !== undefined) await shutdownGrpc(server, 1_000, listening?.guard);
    listening?.guard.close();
  }

  /** What a Call's CallReturn becomes (an unknown type reads as no reply, with a warning). */
  private callResult(ret: CallReturn): Result {
    const body = ret.msg ?? Buffer.alloc(0);
    if (ret.type === 'CALL_RET_REPLY')
      return { status: 200, headers: [['x-edgeless-call-ret', 'reply']], body };
    if (ret.type === 'CALL_RET_ERR') return { status: 500, headers: [['x-edgeless-call-ret', 'err']], body };
    if (ret.type !== 'CALL_RET_NO_REPLY') {
      this.deps.warn(
        `${this.name} answered a Call with CallReturn type ${String(ret.type)}, which the guest API does not define: read as no reply`,
      );
    }
    return { status: 204, headers: [['x-edgeless-call-ret', 'no-reply']], body: Buffer.alloc(0) };
  }

  private stopReason: 'removed' | 'replaced' = 'removed';

  private stoppedError(): SkiffError {
    return this.stopReason === 'removed'
      ? new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `${this.name} was stopped with its workflow`)
      : new SkiffError('SKIFF_E_SHUTTING_DOWN', `${this.name} is being stopped; try again`, {
          retryAfterSec: 1,
        });
  }

  private async listen(): Promise<string> {
    if (this.hostUrl !== undefined) return this.hostUrl;
    // an instance calls its host over one connection; the caps bound what else can come in
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_concurrent_streams': 32,
      'grpc.max_connection_idle_ms': 5 * 60_000,
    });
    server.addService(this.deps.services.guestApiHost, this.deps.hostHandlers(this));
    const { bindHost, announceHost } = this.deps;
    const guard = new ConnectionGuard(`edgeless-host ${this.name}`, this.deps.limits, this.deps.logger);
    let listening: Awaited<ReturnType<typeof listenGrpc>>;
    try {
      listening = await listenGrpc(server, guard, bindHost, 0);
    } catch (err) {
      server.forceShutdown();
      guard.close();
      throw err;
    }
    const port = listening.address.port;
    this.server = server;
    this.listening = { servers: listening.servers, guard };
    const host = announceHost.includes(':') ? `[${announceHost}]` : announceHost;
    this.hostUrl = `http://${host}:${port}`;
    return this.hostUrl;
  }

  private connect(): Client {
    if (this.client !== undefined) return this.client;
    const url = new URL(this.deps.url);
    const creds =
      url.protocol === 'https:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const Ctor = grpc.makeGenericClientConstructor(this.deps.services.guestApiFunction, 'GuestAPIFunction');
    this.client = new Ctor(url.host, creds, {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 500,
    }) as unknown as Client;
    return this.client;
  }

  private rpc(method: string, request: unknown, timeoutMs: number): Promise<unknown> {
    const client = this.connect();
    const call = client[method];
    if (call === undefined) return Promise.reject(new Error(`no method ${method}`));
    const options: grpc.CallOptions = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
    return new Promise((resolve, reject) => {
      const pending = call.call(client, request, new grpc.Metadata(), options, (err, res) => {
        this.inFlight.delete(pending);
        if (err === null) {
          resolve(res);
          return;
        }
        if ((method === 'Cast' || method === 'Call') && this.stopped) {
          // cancelled by a stop: the event is the stop's (tried again, or gone with its workflow)
          reject(this.stoppedError());
          return;
        }
        if (method === 'Cast' || method === 'Call') {
          // the instance is gone or failed: the next event boots it again
          this.id = undefined;
          const late = err.code === grpc.status.DEADLINE_EXCEEDED;
          reject(
            new SkiffError(
              late ? 'SKIFF_E_TIMEOUT' : 'SKIFF_E_INSTANCE_CRASHED',
              late
                ? `the EDGELESS instance ${this.name} at ${this.deps.url} did not answer the ${method} in time; it is booted again for the next event`
                : `the EDGELESS instance ${this.name} at ${this.deps.url} failed the ${method}: ${err.details || err.message}`,
              { cause: err },
            ),
          );
          return;
        }
        reject(err);
      });
      this.inFlight.add(pending);
    });
  }

  private async boot(): Promise<void> {
    // the instance this one replaces may still be telling the same process Stop
    await this.deps.after?.catch(() => undefined);
    const hostUrl = await this.listen();
    const id: InstanceId = { node_id: this.deps.nodeId, function_id: randomUUID() };
    const until = Date.now() + this.deps.bootTimeoutMs;
    let stoppedOnce = false;
    let last: unknown;
    // the host answers this id from now: the instance may call it during Boot
    this.id = undefined;
    for (;;) {
      if (this.stopped) throw this.stoppedError();
      try {
        this.pendingId = id;
        await this.rpc('Boot', { guest_api_host_endpoint: hostUrl, instance_id: id }, RPC_DEADLINE_MS);
        break;
      } catch (err) {
        last = err;
        const code = (err as grpc.ServiceError).code;
        // reachable but refusing: an instance left booted or initialised gets one Stop
        if (!stoppedOnce && code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) {
          stoppedOnce = true;
          await this.rpc('Stop', {}, RPC_DEADLINE_MS).catch(() => undefined);
        }
      }
      if (Date.now() >= until) {
        this.pendingId = undefined;
        const detail = (last as grpc.ServiceError | undefined)?.details ?? String(last);
        throw new SkiffError(
          'SKIFF_E_INSTANCE_START_FAILED',
          `could not boot the EDGELESS instance ${this.name} at ${this.deps.url} within ${this.deps.bootTimeoutMs} ms: ${detail}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    try {
      const state = await this.deps.syncedState();
      await this.rpc(
        'Init',
        { init_payload: this.deps.initPayload, serialized_state: state },
        RPC_DEADLINE_MS,
      );
    } catch (err) {
      this.pendingId = undefined;
      throw new SkiffError(
        'SKIFF_E_INSTANCE_START_FAILED',
        `the EDGELESS instance ${this.name} at ${this.deps.url} refused Init: ${(err as grpc.ServiceError).details ?? String(err)}`,
      );
    }
    this.pendingId = undefined;
    this.id = id;
    this.deps.logger.info(
      { instance: this.name, url: this.deps.url, functionId: id.function_id },
      'EDGELESS instance booted',
    );
  }

  /** The id of a boot under way (host calls made during Boot and Init are answered for it). */
  pendingId: InstanceId | undefined;
}
