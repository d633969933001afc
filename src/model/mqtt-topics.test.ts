import { describe, expect, it } from 'vitest';
import { filterProblem, topicMatches, topicProblem } from './mqtt-topics.js';

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
});
