/**
 * Caps on what logged-in clients of the embedded broker make it hold in memory (docs/security.md,
 * MQTT): retained messages (in all and per user, with a smaller payload cap), subscriptions per
 * client and the length of their filters, and the messages queued for an offline persistent
 * session. Persistent sessions per user and in all are capped where logins are checked
 * (mqtt-auth.ts). The platform's own client is never capped here: its rules and its session are
 * the operator's.
 */
import type { AedesOptions, Client } from 'aedes';
import memory from 'aedes-persistence';
import { CLIENT_ID_PREFIX } from './mqtt-session-state.js';

export interface BrokerLimitSettings {
  maxRetained: number;
  maxRetainedBytes: number;
  maxRetainedPerUser: number;
  maxRetainedPayloadBytes: number;
  maxSubscriptionsPerClient: number;
  maxFilterLength: number;
  maxQueuedPerSession: number;
  maxQueuedBytesPerSession: number;
  maxQueuedBytes: number;
}

interface QueuedPacket {
  payload?: unknown;
}

/** The methods of aedes's memory persistence wrapped here, as aedes calls them (without a callback: a promise). */
interface Store {
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: QueuedPacket): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: QueuedPacket): Promise<QueuedPacket | undefined>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
  addSubscriptions(client: { id: string }, subs: object[]): Promise<unknown>;
}

/** The package is CommonJS whose types declare an ES default export; at run time the default is the factory. */
const makeMemory = memory as unknown as () => Store;

const sizeOf = (payload: unknown): number =>
  typeof payload === 'string' || Buffer.isBuffer(payload) ? Buffer.byteLength(payload) : 0;

export class BrokerLimits {
  /** Retained topic → the user who set it and its payload bytes. */
  private readonly retained = new Map<string, { user: string; bytes: number }>();
  private readonly retainedOf = new Map<string, number>();
  private retainedBytes = 0;
  /** Filters each client holds. */
  private readonly filters = new WeakMap<Client, Set<string>>();
  /**
   * Filters refused in a SUBSCRIBE. aedes stores every filter of a SUBSCRIBE in a persistent session
   * when one of them is granted: these are left out, or a client could pile up refused filters there.
   */
  private readonly refused = new WeakSet<object>();
  /** Client id → messages and bytes queued for its session. */
  private readonly queued = new Map<string, { count: number; bytes: number }>();
  private queuedBytes = 0;

  constructor(readonly settings: BrokerLimitSettings) {}

  /**
   * Why `user` may not make the broker retain `bytes` on `topic` (an empty payload clears it), or
   * undefined, in which case the message is counted as retained.
   */
  retainProblem(user: string, topic: string, bytes: number): string | undefined {
    const s = this.settings;
    const old = this.retained.get(topic);
    if (bytes === 0) {
      if (old !== undefined) this.forgetRetained(topic, old);
      return undefined;
    }
    if (bytes > s.maxRetainedPayloadBytes) {
      return `a retained payload of ${bytes} bytes is over mqtt.broker.maxRetainedPayloadBytes (${s.maxRetainedPayloadBytes})`;
    }
    const others = this.retained.size - (old === undefined ? 0 : 1);
    if (others >= s.maxRetained)
      return `the broker holds mqtt.broker.maxRetained (${s.maxRetained}) retained messages`;
    const mine = (this.retainedOf.get(user) ?? 0) - (old?.user === user ? 1 : 0);
    if (mine >= s.maxRetainedPerUser) {
      return `the user holds mqtt.broker.maxRetainedPerUser (${s.maxRetainedPerUser}) retained messages`;
    }
    // the topic is held too (up to 64 KiB each)
    const cost = bytes + Buffer.byteLength(topic);
    if (this.retainedBytes - (old?.bytes ?? 0) + cost > s.maxRetainedBytes) {
      return `retained messages would be over mqtt.broker.maxRetainedBytes (${s.maxRetainedBytes})`;
    }
    if (old !== undefined) this.forgetRetained(topic, old);
    this.retained.set(topic, { user, bytes: cost });
    this.retainedOf.set(user, (this.retainedOf.get(user) ?? 0) + 1);
    this.retainedBytes += cost;
    return undefined;
  }

  private forgetRetained(topic: string, old: { user: string; bytes: number }): void {
    this.retained.delete(topic);
    this.retainedBytes -= old.bytes;
    const left = (this.retainedOf.get(old.user) ?? 1) - 1;
    if (left > 0) this.retainedOf.set(old.user, left);
    else this.retainedOf.delete(old.user);
  }

  /** Whether `client` may hold one more subscription to `filter` (it is then counted). */
  subscribeAllowed(client: Client, filter: string, platform: boolean): boolean {
    if (platform) return true;
    if (Buffer.byteLength(filter) > this.settings.maxFilterLength) return false;
    let held = this.filters.get(client);
    if (held === undefined) {
      held = new Set();
      this.filters.set(client, held);
    }
    if (held.has(filter)) return true;
    if (held.size >= this.settings.maxSubscriptionsPerClient) return false;
    held.add(filter);
    return true;
  }

  /** Marks a subscription (an entry of a SUBSCRIBE packet) as refused: it is not stored in the session. */
  refuse(sub: object): void {
    this.refused.add(sub);
  }

  /** Call on the broker's `unsubscribe` event. */
  unsubscribed(client: Client | null | undefined, filters: readonly string[]): void {
    const held = client === null || client === undefined ? undefined : this.filters.get(client);
    for (const filter of filters) held?.delete(filter);
  }

  /**
   * aedes's memory persistence, with messages for a persistent session that is over its queue caps
   * (or when all queues together are) not stored for it: they are dropped for that session only.
   */
  persistence(): NonNullable<AedesOptions['persistence']> {
    const store = makeMemory();
    const enqueueCombi = store.outgoingEnqueueCombi.bind(store);
    const enqueue = store.outgoingEnqueue.bind(store);
    const clear = store.outgoingClearMessageId.bind(store);
    const clean = store.cleanSubscriptions.bind(store);
    const addSubscriptions = store.addSubscriptions.bind(store);
    const room = (clientId: string, bytes: number): boolean => {
      if (clientId.startsWith(CLIENT_ID_PREFIX)) return true;
      const q = this.queued.get(clientId) ?? { count: 0, bytes: 0 };
      const s = this.settings;
      if (
        q.count >= s.maxQueuedPerSession ||
        q.bytes + bytes > s.maxQueuedBytesPerSession ||
        this.queuedBytes + bytes > s.maxQueuedBytes
      ) {
        return false;
      }
      this.queued.set(clientId, { count: q.count + 1, bytes: q.bytes + bytes });
      this.queuedBytes += bytes;
      return true;
    };
    const release = (clientId: string, bytes: number | undefined): void => {
      const q = this.queued.get(clientId);
      if (q === undefined) return;
      const freed = Math.min(q.bytes, bytes ?? q.bytes);
      const count = bytes === undefined ? 0 : q.count - 1;
      this.queuedBytes -= freed;
      if (count <= 0) {
        this.queuedBytes -= q.bytes - freed;
        this.queued.delete(clientId);
      } else {
        this.queued.set(clientId, { count, bytes: q.bytes - freed });
      }
    };
    store.outgoingEnqueueCombi = (subs, packet) => {
      const bytes = sizeOf(packet.payload);
      return enqueueCombi(
        subs.filter((sub) => room(sub.clientId, bytes)),
        packet,
      );
    };
    store.outgoingEnqueue = (sub, packet) =>
      room(sub.clientId, sizeOf(packet.payload)) ? enqueue(sub, packet) : Promise.resolve();
    store.outgoingClearMessageId = async (client, packet) => {
      const removed = await clear(client, packet);
      if (removed !== undefined) release(client.id, sizeOf(removed.payload));
      return removed;
    };
    store.addSubscriptions = async (client, subs) => {
      // aedes calls this while it still checks the other filters of the SUBSCRIBE (each check is
      // synchronous here): wait for the end of the turn, when all of them are checked
      await new Promise((resolve) => setImmediate(resolve));
      return addSubscriptions(
        client,
        subs.filter((sub) => !this.refused.has(sub)),
      );
    };
    store.cleanSubscriptions = async (client) => {
      release(client.id, undefined);
      await clean(client);
    };
    return store as unknown as NonNullable<AedesOptions['persistence']>;
  }
}
