/**
 * The messages the broker delivers on the platform's session, and their acknowledgements.
 *
 * mqtt.js handles the packets of a connection one after the other and sends the PUBACK when
 * `handleMessage` calls back. Holding that callback stops reading the connection, and the handlers
 * wait for things that arrive on it (the PUBACKs of their results, PINGRESP): a burst of messages
 * would deadlock every trigger. So `handleMessage` always lets the next packet through at once:
 * messages beyond the ones running wait in a bounded queue here, and the PUBACK is sent when the work
 * is done, in the order the messages came ([MQTT-4.6.0-2]) and only on the connection they came on.
 * A QoS 1 message that finds the queue full is left unacknowledged in the broker's session; once the
 * trigger is idle again it reconnects, and the broker delivers those messages again.
 */
import type { IPublishPacket } from 'mqtt';
import type { Logger } from '../shared/logger.js';
import type { HeaderPairs } from '../model/invocation.js';

/** Messages handled at once. Beyond it QoS 1 messages wait in the queue, QoS 0 ones are dropped. */
export const MAX_IN_FLIGHT = 64;
/** QoS 1 messages waiting for a slot, at most; more are left in the broker's session for later. */
export const MAX_QUEUED = 1_000;
/** Payload bytes those may hold. */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/** One message the broker delivered. */
export interface Message {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  /** MQTT 5 content type, when the publisher set one. */
  contentType: string | undefined;
  /** MQTT 5 subscription identifiers this copy was delivered for, when the broker sent them. */
  subscriptionIds: number[] | undefined;
  /** The PUBLISH's packet identifier (QoS 1). */
  packetId: number | undefined;
  /** When it came, milliseconds since the epoch. */
  receivedAt: number;
  /** MQTT 5 user properties `traceparent` and `tracestate` (W3C Trace Context), as headers. */
  traceHeaders?: HeaderPairs;
}

/** `ack`: done, acknowledge it. `keep`: leave it unacknowledged in the session, to be delivered again. */
export type Outcome = 'ack' | 'keep';

/** What the inbound side needs of the session's connection. */
export interface InboundOptions {
  logger: Logger;
  handle(message: Message): Promise<Outcome>;
  /** Whether the connection is up. */
  connected(): boolean;
  /** Sends the PUBACK of one message on the current connection. */
  sendAck(messageId: number): void;
  /** Closes the connection (it reconnects), for the broker to deliver again what was left over. */
  redeliver(): void;
}

interface PendingAck {
  messageId: number;
  state: 'wait' | 'ack' | 'keep';
}

/** Tells mqtt.js not to send the PUBACK itself (its callback is called with an error). */
const ACK_LATER = new Error('acknowledged by the trigger when the message is handled');

function noop(): void {}

/** Runs the delivered messages with bounded concurrency and acknowledges them in order. */
export class InboundMessages {
  /** Bumped when a connection closes: acknowledgements of its messages are not sent on the next one. */
  private generation = 0;
  private acks: PendingAck[] = [];
  private inFlight = 0;
  private queue: Array<{ packet: IPublishPacket; entry: PendingAck | undefined; bytes: number }> = [];
  private queuedBytes = 0;
  /** QoS 1 messages were left unacknowledged because the queue was full: reconnect when idle. */
  private leftOver = 0;
  private readonly idle = new Set<() => void>();
  private stopping = false;
  private droppedQos0 = 0;
  private dropLog: NodeJS.Timeout | undefined;

  constructor(private readonly options: InboundOptions) {}

  /** `handleMessage` of the client: takes one PUBLISH and lets the next packet through at once. */
  onPublish(packet: IPublishPacket, callback: (err?: Error) => void): void {
    const qos = packet.qos;
    if (this.stopping) {
      // not handled: a QoS 1 message stays in the session for the next start
      callback(qos === 1 ? ACK_LATER : undefined);
      return;
    }
    if (qos === 2) {
      // never subscribed at QoS 2; a broker that sends it anyway gets it handled without the guarantee
      this.run(packet, undefined);
      callback();
      return;
    }
    const entry: PendingAck | undefined =
      qos === 1 && packet.messageId !== undefined
        ? { messageId: packet.messageId, state: 'wait' }
        : undefined;
    if (entry !== undefined) this.acks.push(entry);
    if (this.inFlight < MAX_IN_FLIGHT) {
      this.run(packet, entry);
      callback(entry === undefined ? undefined : ACK_LATER);
    } else if (qos === 0) {
      this.dropped();
      callback();
    } else {
      // never stop reading the connection: the running handlers wait for PUBACKs that come on it
      const bytes = Buffer.byteLength(packet.payload) + packet.topic.length;
      if (this.queue.length < MAX_QUEUED && this.queuedBytes + bytes <= MAX_QUEUED_BYTES) {
        this.queue.push({ packet, entry, bytes });
        this.queuedBytes += bytes;
      } else if (entry !== undefined) {
        // left unacknowledged in the broker's session, delivered again after the next reconnect
        entry.state = 'keep';
        this.leftOver += 1;
        this.flushAcks();
      }
      callback(ACK_LATER);
    }
  }

  /** The connection closed: what waits for a slot (and what was left over) is delivered again on the next one. */
  connectionClosed(): void {
    this.generation += 1;
    this.acks = [];
    this.queue = [];
    this.queuedBytes = 0;
    this.leftOver = 0;
  }

  /** Starts the next queued message, or reconnects when idle to have left-over messages delivered again. */
  private next(): void {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      this.queuedBytes -= queued.bytes;
      this.run(queued.packet, queued.entry);
      return;
    }
    if (this.inFlight > 0 || this.leftOver === 0 || this.stopping || !this.options.connected()) return;
    this.options.logger.warn(
      { leftOver: this.leftOver, maxQueued: MAX_QUEUED, maxInFlight: MAX_IN_FLIGHT },
      'more MQTT messages came at once than the trigger queues; reconnecting to have the broker deliver the rest again',
    );
    this.leftOver = 0;
    this.options.redeliver();
  }

  private run(packet: IPublishPacket, entry: PendingAck | undefined): void {
    const generation = this.generation;
    const properties = packet.properties;
    const ids = properties?.subscriptionIdentifier;
    const message: Message = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos === 0 ? 0 : 1,
      retain: packet.retain,
      contentType: properties?.contentType,
      subscriptionIds: ids === undefined ? undefined : Array.isArray(ids) ? ids : [ids],
      packetId: packet.messageId,
      receivedAt: Date.now(),
      traceHeaders: traceHeadersOf(properties?.userProperties),
    };
    this.inFlight += 1;
    this.options
      .handle(message)
      .catch((err: unknown) => {
        this.options.logger.error({ err, topic: message.topic }, 'handling an MQTT message failed');
        return 'ack' as const;
      })
      .then((outcome) => {
        this.inFlight -= 1;
        if (entry !== undefined && generation === this.generation) {
          entry.state = outcome;
          this.flushAcks();
        }
        if (!this.stopping) this.next();
        if (this.inFlight === 0) for (const done of this.idle) done();
      })
      .catch(noop);
  }

  /** Sends the PUBACKs that are due, in the order the messages came. */
  private flushAcks(): void {
    while (this.acks[0] !== undefined && this.acks[0].state !== 'wait') {
      const entry = this.acks.shift() as PendingAck;
      if (entry.state === 'ack' && this.options.connected()) this.options.sendAck(entry.messageId);
    }
  }

  private dropped(): void {
    this.droppedQos0 += 1;
    this.dropLog ??= setTimeout(() => {
      this.options.logger.warn(
        { dropped: this.droppedQos0, maxInFlight: MAX_IN_FLIGHT },
        'dropped QoS 0 MQTT messages: the trigger is handling as many messages as it may at once',
      );
      this.droppedQos0 = 0;
      this.dropLog = undefined;
    }, 5_000);
  }

  /**
   * Stops taking messages and gives those in flight up to `graceMs` to finish (their results are
   * published and acknowledged). Queued ones are not started: they stay in the broker's session.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    // queued messages are not started: they stay in the session for the next start
    for (const { entry } of this.queue.splice(0)) if (entry !== undefined) entry.state = 'keep';
    this.queuedBytes = 0;
    this.flushAcks();
    if (this.inFlight > 0) {
      let done = noop;
      const idle = new Promise<void>((resolve) => {
        done = resolve;
        this.idle.add(resolve);
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      this.idle.delete(done);
    }
    if (this.dropLog !== undefined) clearTimeout(this.dropLog);
  }
}

/** Values of one trace user property kept at most (a hostile publisher may repeat a property). */
const MAX_TRACE_VALUES = 4;

/** The W3C Trace Context user properties of a PUBLISH as header pairs (checked later, like HTTP headers). */
function traceHeadersOf(props: Record<string, string | string[]> | undefined): HeaderPairs {
  const out: HeaderPairs = [];
  if (props === undefined) return out;
  for (const [key, value] of Object.entries(props)) {
    const name = key.toLowerCase();
    if (name !== 'traceparent' && name !== 'tracestate') continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values.slice(0, MAX_TRACE_VALUES)) if (typeof v === 'string') out.push([name, v]);
  }
  return out;
}
