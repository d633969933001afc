/**
 * MQTT rules of skiff.json `triggers.mqtt`: topic filter checks, topic matching (MQTT 3.1.1 §4.7,
 * MQTT 5 §4.7) and the table of subscriptions the trigger holds for the live functions.
 */
import type { MqttRule } from '../control/spec.js';
import { SkiffError } from '../shared/errors.js';
import type { LiveFunction } from './types.js';

/** `$share/<group>/<filter>`: a shared subscription (MQTT 5, and most 3.1.1 brokers). */
const SHARED = /^\$share\/([^/]*)\/(.*)$/s;

/** The largest MQTT 5 subscription identifier (a variable byte integer). */
const MAX_SUBSCRIPTION_ID = 268_435_455;

/** One function's rule as the trigger runs it. */
export interface BoundRule {
  function: string;
  subscribe: string;
  publish: string | undefined;
  qos: 0 | 1;
}

/** One subscription of the platform's client: a topic filter at the highest QoS of its rules. */
export interface Subscription {
  filter: string;
  qos: 0 | 1;
  /** MQTT 5 subscription identifier: the broker names it in every message it delivers for this filter. */
  id: number;
  rules: BoundRule[];
}

/** Why `filter` is not a valid MQTT topic filter, or undefined when it is. */
export function filterProblem(filter: string): string | undefined {
  let plain = filter;
  const shared = SHARED.exec(filter);
  if (shared !== null) {
    const group = shared[1] ?? '';
    if (group === '' || /[#+]/.test(group)) return 'a shared subscription needs a group name without + or #';
    plain = shared[2] ?? '';
  } else if (filter.startsWith('$share/') || filter === '$share') {
    return 'a shared subscription is $share/<group>/<filter>';
  }
  if (plain === '') return 'the topic filter is empty';
  if (plain.includes('\0')) return 'a topic filter cannot contain a NUL character';
  const levels = plain.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return '# must be a whole level and the last one (sensors/#)';
    }
    if (level.includes('+') && level !== '+') return '+ must be a whole level (sensors/+/temperature)';
  }
  return undefined;
}

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicProblem(topic: string): string | undefined {
  if (topic === '') return 'the topic is empty';
  if (/[#+]/.test(topic)) return 'a topic to publish to cannot contain the wildcards + or #';
  if (topic.includes('\0')) return 'a topic cannot contain a NUL character';
  if (topic.startsWith('$')) return 'topics starting with $ are reserved for the broker';
  return undefined;
}

/** Refuses a rule whose filter or publish topic no broker would take, naming where it is (at deploy). */
export function checkMqttRule(rule: MqttRule, where: string): void {
  const subscribe = filterProblem(rule.subscribe);
  if (subscribe !== undefined) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `${where}: subscribe ${JSON.stringify(rule.subscribe)} is not a valid topic filter: ${subscribe}`,
    );
  }
  const publish = rule.publish === undefined ? undefined : ruleProblem(rule);
  if (publish !== undefined) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `${where}: publish ${JSON.stringify(rule.publish)} ${publish}`,
    );
  }
}

/** What is wrong with a rule's publish topic, or undefined. */
function ruleProblem(rule: MqttRule): string | undefined {
  if (rule.publish === undefined) return undefined;
  const problem = topicProblem(rule.publish);
  if (problem !== undefined) return `is not a valid topic: ${problem}`;
  if (topicMatches(rule.subscribe, rule.publish)) {
    return `matches the rule's own subscribe filter ${JSON.stringify(rule.subscribe)}: every result would run the function again`;
  }
  return undefined;
}

/** Whether a message on `topic` matches the topic filter `filter` (wildcards `+` and `#`, `$share/`). */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = SHARED.exec(filter)?.[2] ?? filter;
  const want = plain.split('/');
  const got = topic.split('/');
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with $ ($SYS/...)
  if (topic.startsWith('$') && (want[0] === '+' || want[0] === '#')) return false;
  for (let i = 0; i < want.length; i++) {
    const level = want[i];
    if (level === '#') return true; // also matches the parent level: sensors/# matches sensors
    if (i >= got.length) return false;
    if (level !== '+' && level !== got[i]) return false;
  }
  return want.length === got.length;
}

/** A subscription identifier derived from the filter, so that it stays the same across restarts. */
export function subscriptionId(filter: string): number {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (const byte of Buffer.from(filter, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % MAX_SUBSCRIPTION_ID) + 1;
}

/**
 * The subscriptions the live functions' rules need, one per distinct filter. A rule that is not
 * valid (possible only for versions deployed before rules were checked) is reported and skipped.
 */
export function subscriptionsOf(
  functions: LiveFunction[],
  onInvalid: (fn: string, rule: MqttRule, problem: string) => void,
): Map<string, Subscription> {
  const table = new Map<string, Subscription>();
  for (const fn of functions) {
    for (const rule of fn.spec.triggers?.mqtt ?? []) {
      const problem = filterProblem(rule.subscribe) ?? ruleProblem(rule);
      if (problem !== undefined) {
        onInvalid(fn.name, rule, problem);
        continue;
      }
      const qos = rule.qos === 0 ? 0 : 1;
      const bound: BoundRule = { function: fn.name, subscribe: rule.subscribe, publish: rule.publish, qos };
      const sub = table.get(rule.subscribe);
      if (sub === undefined) {
        const id = subscriptionId(rule.subscribe);
        table.set(rule.subscribe, { filter: rule.subscribe, qos, id, rules: [bound] });
      } else {
        sub.rules.push(bound);
        if (qos > sub.qos) sub.qos = qos;
      }
    }
  }
  return table;
}

/**
 * The rules a message runs. With MQTT 5 subscription identifiers (`ids`), only the subscriptions the
 * broker delivered this copy for: a broker may send one copy per matching subscription. Without them,
 * every subscription whose filter matches the topic.
 */
export function rulesFor(
  table: Map<string, Subscription>,
  topic: string,
  ids: readonly number[] | undefined,
): BoundRule[] {
  const rules: BoundRule[] = [];
  for (const sub of table.values()) {
    if (ids !== undefined && !ids.includes(sub.id)) continue;
    if (topicMatches(sub.filter, topic)) rules.push(...sub.rules);
  }
  return rules;
}
