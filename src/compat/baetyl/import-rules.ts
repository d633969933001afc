/**
 * The rules of a Baetyl configuration (1.0 `function: {name}`, 0.1.x `compute: {function}`) as Skiff
 * MQTT rules, and its hub compared with Skiff's broker (docs/compat/baetyl/import.md).
 */
import { topicMatches } from '../../model/mqtt-topics.js';
import { mqttRuleSchema, type MqttRule } from '../../model/spec.js';
import type { Doc, Reader } from './import-read.js';
import type { ImportFormat, ImportHub, PlatformFacts } from './import-types.js';

/** Reads `rules` of either generation into MQTT rules per function (by name). */
export function readRules(
  r: Reader,
  doc: Doc,
  format: ImportFormat,
  names: ReadonlySet<string>,
  warnings: string[],
): Map<string, MqttRule[]> {
  const byFunction = new Map<string, MqttRule[]>();
  r.list(doc['rules'], 'rules').forEach((rule, i) => {
    const where = `rules[${i}]`;
    const target =
      format === 'baetyl'
        ? r.required(r.map(rule['function'], `${where}.function`)['name'], `${where}.function.name`)
        : r.required(r.map(rule['compute'], `${where}.compute`)['function'], `${where}.compute.function`);
    const targetKey = format === 'baetyl' ? `${where}.function.name` : `${where}.compute.function`;
    if (!names.has(target)) r.fail(targetKey, `no function named ${JSON.stringify(target)} in functions`);
    const sub = r.map(rule['subscribe'], `${where}.subscribe`);
    const pub = r.map(rule['publish'], `${where}.publish`);
    const subscribe = r.required(sub['topic'], `${where}.subscribe.topic`);
    const publish = r.required(pub['topic'], `${where}.publish.topic`);
    const qos = r.qos(sub['qos'], `${where}.subscribe.qos`) ?? 0;
    const publishQos = r.qos(pub['qos'], `${where}.publish.qos`);
    if (qos === 1 && publishQos === undefined) {
      warnings.push(
        `${where}: subscribe.qos is 1 and publish.qos is not set, so results are published at QoS 0 and the flow is no longer at-least-once (upstream's default, Baetyl issue #223); set publish.qos: 1 to keep QoS 1`,
      );
    }
    let attempts = 1; // 0.1.x: no retry
    if (format === 'baetyl') {
      const max = r.map(rule['retry'], `${where}.retry`)['max'];
      if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max))) {
        r.fail(`${where}.retry.max`, 'must be a whole number');
      }
      attempts = Math.max(1, (max as number | undefined | null) ?? 3);
      if (attempts > 10) {
        warnings.push(`${where}: retry.max ${attempts} is lowered to 10, the most attempts Skiff makes`);
        attempts = 10;
      }
    }
    const mapped = {
      subscribe,
      publish,
      qos,
      publishQos: publishQos ?? 0,
      attempts,
      onError: 'publish' as const,
    };
    const checked = mqttRuleSchema.safeParse(mapped);
    if (!checked.success) r.fail(where, checked.error.issues.map((issue) => issue.message).join('; '));
    const list = byFunction.get(target) ?? [];
    list.push(checked.data);
    byFunction.set(target, list);
  });
  return byFunction;
}

/** `host:port` of an MQTT address (`tcp://`, `ssl://`, `mqtt://`, `mqtts://`, `ws://`…), loopback names as one. */
export function brokerKey(address: string): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  const secure = /^(ssl|tls|mqtts|wss):$/.test(url.protocol);
  const port = url.port !== '' ? url.port : secure ? '8883' : '1883';
  let host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (
    host === 'localhost' ||
    host === '::1' ||
    host === '0.0.0.0' ||
    host === '::' ||
    host.startsWith('127.')
  ) {
    host = 'loopback';
  }
  return `${host}:${port}`;
}

/** An address as shown in a message: without user name and password. */
function shown(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

export function hubOf(r: Reader, doc: Doc, facts: PlatformFacts, warnings: string[]): ImportHub | undefined {
  const hub = r.map(doc['hub'], 'hub');
  const address = r.text(hub['address'], 'hub.address');
  if (address === '') return undefined;
  const key = brokerKey(address);
  const skiff = facts.brokerUrl === undefined ? undefined : brokerKey(facts.brokerUrl);
  const sameAsSkiff = key !== undefined && key === skiff;
  if (!sameAsSkiff) {
    warnings.push(
      `hub.address ${shown(address)} is not Skiff's MQTT broker (${facts.brokerUrl === undefined ? 'none is running' : shown(facts.brokerUrl)}): the rules subscribe and publish on Skiff's broker; point your clients there, or set mqtt.url to ${shown(address)}`,
    );
  }
  if (hub['username'] !== undefined || hub['password'] !== undefined || hub['cert'] !== undefined) {
    warnings.push(
      "hub's username, password and certificates are not used: Skiff's MQTT trigger logs in with its own",
    );
  }
  return { address: shown(address), sameAsSkiff };
}

/** Above this many (publish topic, filter) pairs the loop check is skipped: it is only a warning. */
const MAX_LOOP_PAIRS = 1_000_000;

/**
 * A warning naming the functions whose rules feed each other (a result published on a topic one of
 * their own rules, or a rule of a function that feeds them back, subscribes to): each message would
 * run them again without end. Skiff refuses such a loop within one rule only; upstream never did.
 */
export function loopWarning(
  functions: readonly { name: string; mqtt: readonly MqttRule[] }[],
): string | undefined {
  const pairs = functions.reduce((n, fn) => n + fn.mqtt.length, 0) ** 2;
  if (pairs === 0 || pairs > MAX_LOOP_PAIRS) return undefined;
  const n = functions.length;
  // reach[i][j]: a result of functions[i] runs functions[j], directly or through others
  const reach = functions.map((from) =>
    functions.map((to) =>
      from.mqtt.some(
        (rule) =>
          rule.publish !== undefined &&
          to.mqtt.some((other) => topicMatches(other.subscribe, rule.publish as string)),
      ),
    ),
  );
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      if (!(reach[i]?.[k] ?? false)) continue;
      for (let j = 0; j < n; j++) if (reach[k]?.[j] === true) (reach[i] as boolean[])[j] = true;
    }
  }
  const looping = functions.filter((_, i) => reach[i]?.[i] === true).map((fn) => fn.name);
  if (looping.length === 0) return undefined;
  return `rules: the results of ${looping.join(', ')} are published on topics their rules subscribe to (directly or through each other): every message would run them again without end; change a publish topic or a subscribe filter`;
}
