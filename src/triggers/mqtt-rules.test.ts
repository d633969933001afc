import { describe, expect, it } from 'vitest';
import type { FunctionSpec, MqttRule } from '../control/spec.js';
import {
  checkMqttRule,
  filterProblem,
  rulesFor,
  subscriptionId,
  subscriptionsOf,
  topicMatches,
  topicProblem,
} from './mqtt-rules.js';

describe('MQTT topic matching', () => {
  it.each([
    ['sensors/+/temp', 'sensors/kitchen/temp', true],
    ['sensors/+/temp', 'sensors/kitchen/humidity', false],
    ['sensors/+/temp', 'sensors/a/b/temp', false],
    ['sensors/+', 'sensors/', true],
    ['sensors/+', 'sensors', false],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b/c', true],
    ['sensors/#', 'sensorsx/a', false],
    ['#', 'anything/at/all', true],
    ['+/+', 'a/b', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['A/b', 'a/b', false],
    // [MQTT-4.7.2-1] wildcards at the first level skip $ topics
    ['#', '$SYS/broker/uptime', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    // a shared subscription matches like its filter
    ['$share/skiff/sensors/+', 'sensors/a', true],
    ['$share/skiff/sensors/+', 'sensors/a/b', false],
  ])('%s on %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('tells what is wrong with a filter or a topic', () => {
    expect(filterProblem('sensors/#')).toBeUndefined();
    expect(filterProblem('$share/g/a/+')).toBeUndefined();
    expect(filterProblem('sensors/#/x')).toMatch(/# must be a whole level and the last one/);
    expect(filterProblem('sensors/a#')).toMatch(/# must be/);
    expect(filterProblem('sensors/a+/x')).toMatch(/\+ must be a whole level/);
    expect(filterProblem('$share/g+/a')).toMatch(/group name/);
    expect(filterProblem('$share/g/')).toMatch(/empty/);
    expect(filterProblem('$share/g')).toMatch(/\$share\/<group>\/<filter>/);
    expect(topicProblem('out/a')).toBeUndefined();
    expect(topicProblem('out/+')).toMatch(/wildcards/);
    expect(topicProblem('$SYS/x')).toMatch(/reserved/);
  });

  it('refuses invalid rules and a rule that feeds itself, naming where', () => {
    expect(() => checkMqttRule({ subscribe: 'a/#', publish: 'b/c', qos: 1 }, 'r')).not.toThrow();
    expect(() => checkMqttRule({ subscribe: 'a/#/b', qos: 1 }, 'skiff.json triggers.mqtt[2]')).toThrow(
      /skiff\.json triggers\.mqtt\[2\]: subscribe "a\/#\/b"/,
    );
    expect(() => checkMqttRule({ subscribe: 'a/b', publish: 'x/#', qos: 1 }, 'r')).toThrow(/publish "x\/#"/);
    expect(() => checkMqttRule({ subscribe: 'a/+', publish: 'a/out', qos: 0 }, 'r')).toThrow(
      /run the function again/,
    );
  });

  it('gives every filter a stable subscription identifier in the MQTT 5 range', () => {
    expect(subscriptionId('sensors/+/temp')).toBe(subscriptionId('sensors/+/temp'));
    expect(subscriptionId('a')).not.toBe(subscriptionId('b'));
    for (const filter of ['', '#', 'x'.repeat(1024), 'küche/+']) {
      const id = subscriptionId(filter);
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(268_435_455);
    }
  });
});

describe('MQTT subscription table', () => {
  const spec = (name: string, mqtt: MqttRule[]): FunctionSpec => ({
    name,
    runtime: 'node',
    handler: null,
    description: '',
    env: {},
    timeoutMs: null,
    command: null,
    triggers: { mqtt },
  });
  const functions = [
    {
      name: 'a',
      version: 1,
      spec: spec('a', [
        { subscribe: 's/+', publish: 'out/a', qos: 0 },
        { subscribe: 'bad/#/x', qos: 1 },
      ]),
    },
    {
      name: 'b',
      version: 3,
      spec: spec('b', [
        { subscribe: 's/+', qos: 1 },
        { subscribe: 's/x', qos: 0 },
      ]),
    },
    { name: 'c', version: 1, spec: { ...spec('c', []), triggers: {} } },
  ];

  it('holds one subscription per filter at the highest QoS of its rules, skipping invalid rules', () => {
    const invalid: string[] = [];
    const table = subscriptionsOf(functions, (fn, rule) => invalid.push(`${fn} ${rule.subscribe}`));
    expect(invalid).toEqual(['a bad/#/x']);
    expect([...table.keys()]).toEqual(['s/+', 's/x']);
    expect(table.get('s/+')).toMatchObject({ qos: 1, id: subscriptionId('s/+') });
    expect(table.get('s/+')?.rules.map((r) => r.function)).toEqual(['a', 'b']);
  });

  it('routes a message by its subscription identifiers when it has them, else by topic', () => {
    const table = subscriptionsOf(functions, () => undefined);
    const names = (ids: number[] | undefined) =>
      rulesFor(table, 's/x', ids).map((r) => `${r.function}:${r.subscribe}`);
    expect(names(undefined)).toEqual(['a:s/+', 'b:s/+', 'b:s/x']);
    expect(names([subscriptionId('s/x')])).toEqual(['b:s/x']);
    expect(names([subscriptionId('s/+'), subscriptionId('s/x')])).toEqual(['a:s/+', 'b:s/+', 'b:s/x']);
    expect(names([12345])).toEqual([]);
    expect(rulesFor(table, 'other', undefined)).toEqual([]);
  });
});
