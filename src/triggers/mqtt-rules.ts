/**
 * MQTT rules of skiff.json `triggers.mqtt`: the table of subscriptions the trigger holds for the live
 * functions (the rule checks and topic matching are in src/model/mqtt-topics.ts).
 */
import { mqttRuleProblem, topicMatches } from '../model/mqtt-topics.js';
import type { MqttRule } from '../model/spec.js';
import type { LiveFunction } from './types.js';

/** The largest MQTT 5 subscription identifier (a variable byte integer). */
const MAX_SUBSCRIPTION_ID = 268_435_455;

/** One function's rule as the trigger runs it. */
export interface BoundRule {
  function: string;
  /** The function's flavor (`native` or a compatibility flavor's name). */
  flavor: string;
  subscribe: string;
  publish: string | undefined;
  /** The subscription's QoS. */
  qos: 0 | 1;
  /** The most the result is published with (the lower of it and the message's). */
  publishQos: 0 | 1;
  /** Calls per message in all when the function fails. */
  attempts: number;
  onError: 'drop' | 'publish';
  /** Messages larger than this fail without a call. */
  maxPayloadBytes: number | undefined;
}

/** One subscription of the platform's client: a topic filter at the highest QoS of its rules. */
export interface Subscription {
  filter: string;
  qos: 0 | 1;
  /** MQTT 5 subscription identifier: the broker names it in every message it delivers for this filter. */
  id: number;
  rules: BoundRule[];
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
      const problem = mqttRuleProblem(rule);
      if (problem !== undefined) {
        onInvalid(fn.name, rule, problem);
        continue;
      }
      const qos = rule.qos === 0 ? 0 : 1;
      const bound: BoundRule = {
        function: fn.name,
        flavor: fn.spec.flavor ?? 'native',
        subscribe: rule.subscribe,
        publish: rule.publish,
        qos,
        publishQos: rule.publishQos ?? qos,
        attempts: rule.attempts ?? 1,
        onError: rule.onError ?? 'drop',
        maxPayloadBytes: rule.maxPayloadBytes,
      };
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
