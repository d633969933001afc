import { describe, expect, it } from 'vitest';
import { parseGoDuration, parseMemory } from './units.js';

const ms = (raw: unknown): number | string => {
  const r = parseGoDuration(raw);
  return r.ok ? r.value : r.reason;
};

describe("Go durations (Baetyl's timeout, idletime, evicttime)", () => {
  it('reads units, fractions and sequences', () => {
    expect(ms('1m')).toBe(60_000);
    expect(ms('10s')).toBe(10_000);
    expect(ms('1h30m')).toBe(5_400_000);
    expect(ms('500ms')).toBe(500);
    expect(ms('1.5s')).toBe(1500);
    expect(ms('.5s')).toBe(500);
    expect(ms('2us')).toBeCloseTo(0.002);
    expect(ms('2µs')).toBeCloseTo(0.002);
    expect(ms('100ns')).toBeCloseTo(0.0001);
    expect(ms('1h1m1s1ms')).toBe(3_661_001);
    expect(ms('0')).toBe(0);
    expect(ms(0)).toBe(0);
    expect(ms('-1s')).toBe(-1000);
  });

  it('refuses what Go refuses, and numbers without a unit', () => {
    for (const bad of ['', '1', '10 s', 's', '1x', '1m-', '.s', '1.2.3s', 'ten seconds', null, true]) {
      expect(typeof ms(bad)).toBe('string');
    }
    expect(ms(30)).toMatch(/no unit/);
    expect(ms('1000000000h')).toMatch(/too long/);
  });
});

describe("memory sizes (OpenEdge's memory.limit)", () => {
  const bytes = (raw: unknown): number | string => {
    const r = parseMemory(raw);
    return r.ok ? r.value : r.reason;
  };
  it('reads binary units in any case, and bare bytes', () => {
    expect(bytes('50m')).toBe(50 * 1024 * 1024);
    expect(bytes('1g')).toBe(1024 ** 3);
    expect(bytes('1G')).toBe(1024 ** 3);
    expect(bytes('512k')).toBe(512 * 1024);
    expect(bytes('64MB')).toBe(64 * 1024 * 1024);
    expect(bytes('64MiB')).toBe(64 * 1024 * 1024);
    expect(bytes('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(bytes(1048576)).toBe(1048576);
    expect(bytes('4194304')).toBe(4194304);
  });
  it('refuses other forms', () => {
    for (const bad of ['', 'm', '50x', '-1m', '5 0m', {}, null]) expect(typeof bytes(bad)).toBe('string');
  });
});
