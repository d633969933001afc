import { describe, expect, it } from 'vitest';
import type { FunctionSpec, MqttRule } from '../model/spec.js';
import { rulesFor, subscriptionId, subscriptionsOf } from './mqtt-rules.js';

describe('MQTT subscription identifiers', () => {
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
