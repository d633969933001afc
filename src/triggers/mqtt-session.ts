/**
 * The platform's own MQTT client: one persistent session (a stable client id per data directory,
 * `clean: false`) in which a QoS 1 message is acknowledged only after its work is done.
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
import type { Duplex } from 'node:stream';
import { connect, MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import type { Logger } from '../shared/logger.js';

export {
  CLIENT_ID_PREFIX,
  loadSessionState,
  saveSessionState,
  type SessionState,
} from './mqtt-session-state.js';

/** Messages handled at once. Beyond it QoS 1 messages wait in the queue, QoS 0 ones are dropped. */
export const MAX_IN_FLIGHT = 64;
/** QoS 1 messages waiting for a slot, at most; more are left in the broker's session for later. */
export const MAX_QUEUED = 1_000;
/** Payload bytes those may hold. */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** How long an MQTT 5 broker keeps the session (subscriptions, QoS 1 messages) while the platform is away. */
export const SESSION_EXPIRY_SEC = 7 * 24 * 3600;
/** How long `start` waits for the first connection before going on (the client keeps trying). */
const FIRST_CONNECT_MS = 5_000;
/** What `end` gives the last results to reach the broker. */
const FLUSH_MS = 5_000;

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
}

/** `ack`: done, acknowledge it. `keep`: leave it unacknowledged in the session, to be delivered again. */
export type Outcome = 'ack' | 'keep';

export interface SessionOptions {
  url: string;
  /** The URL as logs show it (without credentials). */
  label: string;
  clientId: string;
  /** The platform's login at the broker (otherwise the URL's, if any). */
  username?: string | undefined;
  password?: string | undefined;
  /** 5 for an external broker (falls back to 3.1.1 if the broker refuses it), 4 for aedes. */
  protocolVersion: 4 | 5;
  /**
   * The embedded broker's in-process connection: the platform's client goes through no socket, so
   * it counts against no connection cap and no stranger can crowd it out.
   */
  connectInternal?: (() => Duplex) | undefined;
  /** The largest packet the platform takes from the broker (MQTT 5 maximum packet size). */
  maxPacketBytes: number;
  logger: Logger;
  handle(message: Message): Promise<Outcome>;
  /** After every CONNACK, with whether the broker still had the session. */
  onConnect(sessionPresent: boolean): void;
}

interface PendingAck {
  messageId: number;
  state: 'wait' | 'ack' | 'keep';
}

/** Tells mqtt.js not to send the PUBACK itself (its callback is called with an error). */
const ACK_LATER = new Error('acknowledged by the trigger when the message is handled');

type SendPacket = (packet: { cmd: 'puback'; messageId: number }, cb?: (err?: Error) => void) => void;

function noop(): void {}

/** The platform's client connection to the broker. */
export class MqttSession {
  private client: MqttClient | undefined;
  private version: 4 | 5;
  /** Bumped when a connection closes: acknowledgements of its messages are not sent on the next one. */
  private generation = 0;
  private acks: PendingAck[] = [];
  private inFlight = 0;
  private queue: Array<{ packet: IPublishPacket; entry: PendingAck | undefined; bytes: number }> = [];
  private queuedBytes = 0;
  /** QoS 1 messages were left unacknowledged because the queue was full: reconnect when idle. */
  private leftOver = 0;
  private recycling = false;
  private readonly idle = new Set<() => void>();
  private stopping = false;
  private everConnected = false;
  private lastError = '';
  private droppedQos0 = 0;
  private dropLog: NodeJS.Timeout | undefined;
  private subscriptionIds = true;

  constructor(private readonly options: SessionOptions) {
    this.version = options.protocolVersion;
  }

  /** The MQTT version in use (after a fallback, 4). */
  get protocolVersion(): 4 | 5 {
    return this.version;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Whether subscriptions may carry MQTT 5 subscription identifiers. */
  get usesSubscriptionIds(): boolean {
    return this.version === 5 && this.subscriptionIds;
  }

  /** Connects, waiting a few seconds for the first CONNACK; after that the client keeps trying on its own. */
  async start(): Promise<void> {
    this.open();
    const deadline = Date.now() + FIRST_CONNECT_MS;
    while (!this.everConnected && Date.now() < deadline && !this.stopping) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!this.everConnected) {
      this.options.logger.warn(
        { broker: this.options.label, error: this.lastError || undefined },
        'the MQTT broker is not reachable yet; the trigger keeps trying to connect',
      );
    }
  }

  private open(): void {
    const { logger } = this.options;
    const settings: IClientOptions = {
      clientId: this.options.clientId,
      ...(this.options.username === undefined ? {} : { username: this.options.username }),
      ...(this.options.password === undefined ? {} : { password: this.options.password }),
      clean: false,
      protocolVersion: this.version,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 1_000,
      reconnectOnConnackError: true,
      // subscriptions are the trigger's to restore (it knows which ones the session still has)
      resubscribe: false,
      ...(this.version === 5
        ? {
            properties: {
              sessionExpiryInterval: SESSION_EXPIRY_SEC,
              receiveMaximum: MAX_IN_FLIGHT,
              maximumPacketSize: this.options.maxPacketBytes,
            },
          }
        : {}),
    };
    const internal = this.options.connectInternal;
    const client =
      internal === undefined
        ? connect(this.options.url, settings)
        : new MqttClient(() => internal() as never, { protocol: 'mqtt', ...settings });
    this.client = client;
    client.handleMessage = (packet, callback) => this.onPublish(packet, callback);
    client.on('connect', (connack) => {
      this.everConnected = true;
      this.lastError = '';
      this.subscriptionIds = connack.properties?.subscriptionIdentifiersAvailable !== false;
      logger.info(
        {
          broker: this.options.label,
          clientId: this.options.clientId,
          mqtt: this.version === 5 ? '5' : '3.1.1',
        },
        connack.sessionPresent
          ? 'connected to the MQTT broker (session resumed)'
          : 'connected to the MQTT broker',
      );
      this.options.onConnect(connack.sessionPresent);
    });
    client.on('close', () => {
      this.generation += 1;
      this.acks = [];
      // messages waiting for a slot (and those left over) are delivered again on the next connection
      this.queue = [];
      this.queuedBytes = 0;
      this.leftOver = 0;
    });
    client.on('offline', () => {
      if (this.recycling) this.recycling = false;
      else if (!this.stopping)
        logger.warn({ broker: this.options.label }, 'lost the connection to the MQTT broker');
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (this.version === 5 && !this.everConnected && (code === 1 || code === 132)) {
        logger.info(
          { broker: this.options.label },
          'the MQTT broker does not speak MQTT 5; using MQTT 3.1.1',
        );
        this.version = 4;
        client.end(true);
        this.open();
        return;
      }
      if (err.message !== this.lastError) {
        logger.warn({ broker: this.options.label, err: err.message }, 'MQTT client error');
        this.lastError = err.message;
      }
    });
  }

  private onPublish(packet: IPublishPacket, callback: (err?: Error) => void): void {
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

  /** Starts the next queued message, or reconnects when idle to have left-over messages delivered again. */
  private next(): void {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      this.queuedBytes -= queued.bytes;
      this.run(queued.packet, queued.entry);
      return;
    }
    if (this.inFlight > 0 || this.leftOver === 0 || this.stopping || !this.connected) return;
    this.options.logger.warn(
      { leftOver: this.leftOver, maxQueued: MAX_QUEUED, maxInFlight: MAX_IN_FLIGHT },
      'more MQTT messages came at once than the trigger queues; reconnecting to have the broker deliver the rest again',
    );
    this.leftOver = 0;
    this.recycling = true;
    this.client?.stream.destroy();
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
    const send = (this.client as unknown as { _sendPacket: SendPacket } | undefined)?._sendPacket;
    while (this.acks[0] !== undefined && this.acks[0].state !== 'wait') {
      const entry = this.acks.shift() as PendingAck;
      if (entry.state === 'ack' && this.connected && send !== undefined) {
        send.call(this.client, { cmd: 'puback', messageId: entry.messageId }, noop);
      }
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

  /** Subscribes to one filter; resolves the QoS granted (128: refused). */
  async subscribe(filter: string, qos: 0 | 1, id: number): Promise<number> {
    const client = this.client;
    if (client === undefined) return 128;
    try {
      const granted = await client.subscribeAsync(filter, {
        qos,
        ...(this.version === 5
          ? {
              // 1: retained messages only for a new subscription, not again when it is renewed
              rh: 1,
              ...(this.usesSubscriptionIds ? { properties: { subscriptionIdentifier: id } } : {}),
            }
          : {}),
      });
      return granted[0]?.qos ?? 128;
    } catch (err) {
      // mqtt.js rejects a SUBACK that refuses the filter (an access list): that is an answer, not a failure
      const refused = (err as { packet?: { granted?: unknown } }).packet?.granted;
      if (Array.isArray(refused) && typeof refused[0] === 'number') return refused[0];
      throw err;
    }
  }

  async unsubscribe(filter: string): Promise<void> {
    await this.client?.unsubscribeAsync(filter);
  }

  /** Publishes a result; resolves when the broker has it (QoS 1: its PUBACK). */
  async publish(topic: string, payload: Buffer, qos: 0 | 1, contentType: string | undefined): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('the MQTT client is not started');
    await client.publishAsync(topic, payload, {
      qos,
      ...(this.version === 5 && contentType !== undefined ? { properties: { contentType } } : {}),
    });
  }

  /**
   * Stops taking messages, gives those in flight up to `graceMs` to finish (their results are
   * published and acknowledged), then disconnects, waiting a few seconds for the last PUBACKs.
   * Unfinished QoS 1 messages stay in the broker's session.
   */
  async end(graceMs: number): Promise<void> {
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
    const client = this.client;
    if (client === undefined) return;
    const deadline = Date.now() + FLUSH_MS;
    while (Object.keys(client.outgoing).length > 0 && client.connected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // a clean DISCONNECT when everything is out; a dead or stuck connection is just closed
    const flushed = Object.keys(client.outgoing).length === 0;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      client.endAsync(!flushed).then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), FLUSH_MS))),
    ]);
    clearTimeout(timer);
    if (!ended) client.stream.destroy();
  }
}
