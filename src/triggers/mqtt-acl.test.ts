import { describe, expect, it } from 'vitest';
import { allowedBy, covers, isSysTopic } from './mqtt-acl.js';

describe('MQTT access lists', () => {
  it('covers topics the way MQTT filters match them', () => {
    expect(covers('sensors/#', 'sensors/a/temp')).toBe(true);
    expect(covers('sensors/#', 'sensors')).toBe(true);
    expect(covers('sensors/+/temp', 'sensors/a/temp')).toBe(true);
    expect(covers('sensors/+/temp', 'sensors/a/b/temp')).toBe(false);
    expect(covers('sensors/+/temp', 'sensors/temp')).toBe(false);
    expect(covers('sensors/#', 'sensorsx/a')).toBe(false);
    expect(covers('a/b', 'a/b/')).toBe(false);
  });

  it('covers a filter only when every topic it matches is allowed', () => {
    expect(covers('sensors/#', 'sensors/+/temp')).toBe(true);
    expect(covers('sensors/#', 'sensors/#')).toBe(true);
    expect(covers('#', '#')).toBe(true);
    expect(covers('sensors/#', '#')).toBe(false);
    expect(covers('sensors/#', '+/temp')).toBe(false);
    expect(covers('sensors/+', 'sensors/#')).toBe(false);
    expect(covers('sensors/a', 'sensors/+')).toBe(false);
    expect(covers('+/+', '+/+')).toBe(true);
    expect(covers('+/temp', 'a/#')).toBe(false);
  });

  it('keeps $ topics out of first-level wildcards and $SYS out of every list', () => {
    expect(covers('#', '$SYS/broker/new/clients')).toBe(false);
    expect(covers('+/#', '$SYS/x')).toBe(false);
    expect(covers('#', '$SYS/#')).toBe(false);
    expect(covers('$share/#', '$share/g/in/x')).toBe(true);
    expect(isSysTopic('$SYS')).toBe(true);
    expect(isSysTopic('$SYSTEM/x')).toBe(false);
    expect(allowedBy(['$SYS/#'], '$SYS/x')).toBe(false);
    expect(allowedBy(['a/#', 'b/#'], 'b/1')).toBe(true);
    expect(allowedBy([], 'b/1')).toBe(false);
  });
});
