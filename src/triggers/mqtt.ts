/**
 * The MQTT trigger (docs/triggers/mqtt.md): messages on the topics of the live functions' skiff.json
 * `triggers.mqtt` rules invoke them, and a non-empty result is published to the rule's `publish` topic.
 * The broker is embedded (aedes) or external (`mqtt.url`); the platform is a client of it with a
 * persistent session, and acknowledges a QoS 1 message only after its function ran and its result
 * was published (at least once end to end).
 */
import { SkiffError } from '../shared/errors.js';
import {
  configuredUser,
  createBrokerAccess,
  ensureMqttCredentials,
  platformCredentials,
  readSecretFile,
  sha256,
  type BrokerUser,
  type Credentials,
} from './mqtt-auth.js';
import { startBroker, type EmbeddedBroker } from './mqtt-broker.js';
import { BrokerLimits } from './mqtt-limits.js';
import { connectionLimits } from '../shared/connection-budget.js';
import { bindHosts, ConnectionGuard } from '../shared/listeners.js';
import { rulesFor, subscriptionsOf, type Subscription } from './mqtt-rules.js';
import { createRuleRunner } from './mqtt-dispatch.js';
import type { Message, Outcome } from './mqtt-inbound.js';
import { MqttSession } from './mqtt-session.js';
import { loadSessionState, saveSessionState } from './mqtt-session-state.js';
import type { RunningTrigger, TriggerAdapter, TriggerContext } from './types.js';

const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];
/** Room besides the payload in a packet from the broker: topic, properties (MQTT 5 maximum packet size). */
const PACKET_OVERHEAD = 2 * 65_536;

/** The broker URL without credentials, for logs. */
export function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return '(invalid URL)';
  }
}

function checkBrokerUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || !BROKER_PROTOCOLS.includes(url.protocol) || url.hostname === '') {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `mqtt.url ${JSON.stringify(displayUrl(raw))} is not a broker URL: use mqtt://host:port (or mqtts://, ws://, wss://)`,
    );
  }
  return raw;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startMqttTrigger(ctx: TriggerContext): Promise<RunningTrigger> {
  const { config, logger } = ctx;
  const settings = config.mqtt;
  let broker: EmbeddedBroker | undefined;
  let url: string;
  /** The platform's login at the broker. */
  let login: Partial<Credentials> = {};
  /** Lines for the start-up output. */
  const notes: string[] = [];
  if (settings.url !== null) {
    url = checkBrokerUrl(settings.url);
    const password =
      settings.passwordFile === null
        ? settings.password
        : readSecretFile(settings.passwordFile, 'mqtt.passwordFile');
    login = {
      ...(settings.username === null ? {} : { username: settings.username }),
      ...(password === null ? {} : { password }),
    };
  } else if (settings.broker.enabled) {
    const { allowAnonymous } = settings.broker;
    const defaultUser = ensureMqttCredentials(config.dataDir);
    const platform = platformCredentials();
    const users: BrokerUser[] = [platform, defaultUser].map((user) => ({
      username: user.username,
      passwordHash: sha256(user.password),
      publish: [],
      subscribe: [],
    }));
    users.push(...settings.broker.users.map(configuredUser));
    broker = await startBroker({
      host: bindHosts(settings.broker.host)[0] ?? settings.broker.host,
      port: settings.broker.port,
      maxPayloadBytes: settings.maxPayloadBytes,
      access: createBrokerAccess({
        users,
        allowAnonymous,
        logger,
        maxPersistentSessionsPerUser: settings.broker.maxPersistentSessionsPerUser,
        maxPersistentSessions: settings.broker.maxPersistentSessions,
      }),
      limits: new BrokerLimits(settings.broker),
      maxPendingLoginsPerAddress: settings.broker.maxPendingLoginsPerAddress,
      logger,
      guard: new ConnectionGuard(
        'mqtt',
        {
          ...connectionLimits(config, settings.broker.maxConnections),
          maxPerAddress: Math.min(
            config.connections.maxPerAddress,
            settings.broker.maxConnectionsPerAddress,
            settings.broker.maxConnections,
          ),
        },
        logger,
      ),
    });
    url = broker.url;
    login = platform;
    notes.push(`mqtt login: user ${defaultUser.username}, password in ${defaultUser.file}`);
    logger.info(
      { credentials: defaultUser.file, users: settings.broker.users.length },
      'the embedded MQTT broker takes logins; the default user and its password are in this file',
    );
    if (allowAnonymous) {
      logger.warn(
        'mqtt.broker.allowAnonymous is true: any client that reaches the embedded MQTT broker may publish and subscribe without logging in',
      );
    }
  } else {
    logger.warn('mqtt.broker.enabled is false and mqtt.url is not set: the MQTT trigger has no broker');
    return { stop: () => Promise.resolve() };
  }

  const state = loadSessionState(config.dataDir);
  /** What the broker's session holds, as far as the platform knows: filter → QoS. */
  const known = new Map<string, number>(Object.entries(state.subscriptions));
  let table = new Map<string, Subscription>();
  let stopping = false;
  let syncing = Promise.resolve();

  const remember = (): void => {
    state.subscriptions = Object.fromEntries(known);
    saveSessionState(config.dataDir, state);
  };

  /** Brings the broker's subscriptions in line with the rules: new filters in, gone ones out. */
  const sync = async (): Promise<void> => {
    if (stopping || !session.connected) return;
    const want = table;
    let changed = false;
    for (const filter of [...known.keys()]) {
      if (want.has(filter)) continue;
      await session.unsubscribe(filter);
      known.delete(filter);
      changed = true;
      logger.info({ filter }, 'unsubscribed from an MQTT topic filter no rule uses any more');
    }
    for (const sub of want.values()) {
      if (known.get(sub.filter) === sub.qos) continue;
      const granted = await session.subscribe(sub.filter, sub.qos, sub.id);
      const functions = [...new Set(sub.rules.map((rule) => rule.function))];
      if (granted !== 0 && granted !== 1) {
        logger.error(
          { filter: sub.filter, functions },
          'the MQTT broker refused the subscription of these functions; check its access rules',
        );
        continue;
      }
      known.set(sub.filter, sub.qos);
      changed = true;
      logger.info({ filter: sub.filter, qos: granted, functions }, 'subscribed to an MQTT topic filter');
    }
    if (changed && !stopping) remember();
  };
  const resync = (): void => {
    syncing = syncing.then(sync).catch((err: unknown) => {
      // the connection went away mid-way: the next CONNACK syncs again
      logger.warn({ err: (err as Error).message }, 'could not update the MQTT subscriptions yet');
    });
  };
  const reload = (): void => {
    table = subscriptionsOf(ctx.liveFunctions(), (fn, rule, problem) => {
      logger.warn({ fn, rule }, `skipping an MQTT rule of ${fn}: ${problem}`);
    });
    resync();
  };

  const runRule = createRuleRunner({
    invoke: (inv) => ctx.invoke(inv),
    publish: (topic, payload, qos, contentType) => session.publish(topic, payload, qos, contentType),
    flavors: ctx.flavors,
    maxPayloadBytes: settings.maxPayloadBytes,
    stopping: () => stopping,
    logger,
  });

  const handle = async (message: Message): Promise<Outcome> => {
    const rules = rulesFor(table, message.topic, message.subscriptionIds);
    if (rules.length === 0) {
      logger.debug({ topic: message.topic }, 'an MQTT message no rule takes');
      return 'ack';
    }
    if (message.payload.length > settings.maxPayloadBytes) {
      logger.warn(
        { topic: message.topic, bytes: message.payload.length, maxPayloadBytes: settings.maxPayloadBytes },
        'an MQTT message over mqtt.maxPayloadBytes; not invoked',
      );
      return 'ack';
    }
    const outcomes = await Promise.all(rules.map((rule) => runRule(rule, message)));
    return outcomes.includes('keep') ? 'keep' : 'ack';
  };

  const session = new MqttSession({
    url,
    label: displayUrl(url),
    clientId: state.clientId,
    username: login.username,
    password: login.password,
    // aedes speaks MQTT 3.1.1; an external broker is asked for MQTT 5 first
    protocolVersion: broker === undefined ? 5 : 4,
    maxPacketBytes: settings.maxPayloadBytes + PACKET_OVERHEAD,
    connectInternal: broker?.connectInternal,
    logger,
    handle,
    onConnect: (sessionPresent) => {
      if (!sessionPresent && known.size > 0) {
        known.clear();
        remember();
      }
      resync();
    },
  });
  ctx.onFunctionsChanged(() => {
    if (!stopping) reload();
  });
  reload();
  try {
    await session.start();
  } catch (err) {
    await session.end(0);
    await broker?.close();
    throw err;
  }
  logger.info(
    { broker: displayUrl(url), embedded: broker !== undefined, filters: table.size },
    'MQTT trigger started',
  );

  return {
    ...(broker === undefined ? {} : { endpoint: { name: 'mqtt', url: broker.url }, notes }),
    async stop() {
      stopping = true;
      await session.end(config.executor.drainTimeoutMs);
      // a subscription change still waiting for its SUBACK does not hold up the stop
      await Promise.race([syncing, sleep(1_000)]);
      await broker?.close();
    },
  };
}

/** The MQTT trigger: rules in skiff.json `triggers.mqtt`, an embedded broker or `mqtt.url`. */
export const mqtt: TriggerAdapter = {
  enabled: (config) => config.mqtt.enabled,
  start: startMqttTrigger,
};
