/**
 * The platform's own MQTT client: one persistent session (a stable client id per data directory,
 * `clean: false`) in which a QoS 1 message is acknowledged only after its work is done.
 * Messages are run and acknowledged by mqtt-inbound.ts.
 */
import type { Duplex } from 'node:stream';
import { connect, MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../shared/logger.js';
import { InboundMessages, MAX_IN_FLIGHT, type Message, type Outcome } from './mqtt-inbound.js';

/** How long an MQTT 5 broker keeps the session (subscriptions, QoS 1 messages) while the platform is away. */
export const SESSION_EXPIRY_SEC = 7 * 24 * 3600;
/** How long `start` waits for the first connection before going on (the client keeps trying). */
const FIRST_CONNECT_MS = 5_000;
/** What `end` gives the last results to reach the broker. */
const FLUSH_MS = 5_000;

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

type SendPacket = (packet: { cmd: 'puback'; messageId: number }, cb?: (err?: Error) => void) => void;

function noop(): void {}

/** The platform's client connection to the broker. */
export class MqttSession {
  private client: MqttClient | undefined;
  private version: 4 | 5;
  private readonly inbound: InboundMessages;
  private recycling = false;
  private stopping = false;
  private everConnected = false;
  private lastError = '';
  private subscriptionIds = true;

  constructor(private readonly options: SessionOptions) {
    this.version = options.protocolVersion;
    this.inbound = new InboundMessages({
      logger: options.logger,
      handle: (message) => options.handle(message),
      connected: () => this.connected,
      sendAck: (messageId) => {
        const send = (this.client as unknown as { _sendPacket: SendPacket } | undefined)?._sendPacket;
        send?.call(this.client, { cmd: 'puback', messageId }, noop);
      },
      redeliver: () => {
        this.recycling = true;
        this.client?.stream.destroy();
      },
    });
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
      // no table of 65,536 pre-made two-byte Buffers (6 MiB of heap) in mqtt-packet, which the
      // embedded broker shares: packet ids and lengths are written into fresh Buffers instead
      writeCache: false,
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
    client.handleMessage = (packet, callback) => this.inbound.onPublish(packet, callback);
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
    client.on('close', () => this.inbound.connectionClosed());
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
    await this.inbound.stop(graceMs);
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
