import { describe, expect, it } from 'vitest';
import type { MqttRule } from '../model/spec.js';
import { parseSpec } from './validate.js';

const withMqtt =
  (...mqtt: Partial<MqttRule>[]) =>
  () =>
    parseSpec({ triggers: { mqtt } }, 'skiff.json');

describe('spec checks', () => {
  it('reads versioned runtime names (node20, python311) as their language, and no other names', () => {
    expect(parseSpec({ runtime: 'node20' }, 'skiff.json').runtime).toBe('node');
    expect(parseSpec({ runtime: 'node8' }, 'skiff.json').runtime).toBe('node');
    expect(parseSpec({ runtime: 'python311' }, 'skiff.json').runtime).toBe('python');
    expect(parseSpec({ runtime: 'python3' }, 'skiff.json').runtime).toBe('python');
    expect(parseSpec({ runtime: 'python' }, 'skiff.json').runtime).toBe('python');
    for (const runtime of ['python27', 'python2', 'nodejs20', 'node200', 'go121', 'Node20', ' node20']) {
      expect(() => parseSpec({ runtime }, 'skiff.json')).toThrow(/skiff\.json is invalid: runtime/);
    }
  });

  it('refuses invalid MQTT rules and a rule that feeds itself, naming where', () => {
    expect(withMqtt({ subscribe: 'a/#', publish: 'b/c', qos: 1 })).not.toThrow();
    expect(withMqtt({ subscribe: 'a' }, { subscribe: 'b' }, { subscribe: 'a/#/b', qos: 1 })).toThrow(
      /skiff\.json is invalid: triggers\.mqtt\[2\]: subscribe "a\/#\/b"/,
    );
    expect(withMqtt({ subscribe: 'a/b', publish: 'x/#', qos: 1 })).toThrow(/publish "x\/#"/);
    expect(withMqtt({ subscribe: 'a/+', publish: 'a/out', qos: 0 })).toThrow(/run the function again/);
  });

  it('refuses a cron schedule or time zone croner cannot run, naming where', () => {
    const withCron =
      (schedule: string, timezone = 'UTC') =>
      () =>
        parseSpec({ triggers: { cron: [{ schedule: '* * * * *' }, { schedule, timezone }] } }, 'skiff.json');
    expect(withCron('*/5 * * * *', 'Europe/Berlin')).not.toThrow();
    expect(withCron('61 * * * *')).toThrow(
      /triggers\.cron\[1\]: schedule "61 \* \* \* \*" in time zone UTC is invalid/,
    );
    expect(withCron('* * * * *', 'Mars/Olympus')).toThrow(/time zone Mars\/Olympus is invalid/);
  });

  it('names nested fields with dots and array items with brackets', () => {
    expect(() => parseSpec({ scaling: { maxInstances: 0 } }, 'skiff.json')).toThrow(
      /skiff\.json is invalid: scaling\.maxInstances:/,
    );
    expect(() => parseSpec({ triggers: { cron: [{ schedule: 'x' }] } }, 'skiff.json')).toThrow(
      /triggers\.cron\[0\]\.schedule:/,
    );
  });
});
