import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundedSeries, OVERFLOW } from './series.js';
import { classify, triggerLabel } from './outcomes.js';
import { SkiffError } from '../shared/errors.js';

const counter = (registry: Registry) =>
  new Counter({
    name: 'test_total',
    help: 'h',
    labelNames: ['function', 'trigger', 'outcome'],
    registers: [registry],
  });

/** The series of `name` in the registry, as `label=value,...` strings. */
async function series(registry: Registry, name: string): Promise<string[]> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).map((v) =>
    Object.entries(v.labels)
      .map(([k, val]) => `${k}=${String(val)}`)
      .join(','),
  );
}

describe('BoundedSeries (label capping)', () => {
  it("keeps at most `cap` series, then counts a new function's in `_other`", async () => {
    const registry = new Registry();
    const bounded = new BoundedSeries(counter(registry), 2, 3);
    bounded.get('a', 'http', 'ok').inc();
    bounded.get('a', 'http', 'error').inc();
    bounded.get('b', 'http', 'ok').inc();
    // the cap is reached: a fourth series of a new function, and a new series of a known one, overflow
    bounded.get('c', 'http', 'ok').inc();
    bounded.get('a', 'cron', 'ok').inc();
    bounded.get('d', 'http', 'ok').inc(2);
    expect(bounded.size).toBe(5);
    expect((await series(registry, 'test_total')).sort()).toEqual([
      'function=_other,trigger=cron,outcome=ok',
      'function=_other,trigger=http,outcome=ok',
      'function=a,trigger=http,outcome=error',
      'function=a,trigger=http,outcome=ok',
      'function=b,trigger=http,outcome=ok',
    ]);
    const other = (await registry.getMetricsAsJSON())[0]?.values.find(
      (v) => v.labels['function'] === OVERFLOW && v.labels['trigger'] === 'http',
    );
    expect(other?.value).toBe(3);
    // existing series keep counting
    bounded.get('a', 'http', 'ok').inc();
    expect(bounded.size).toBe(5);
  });

  it("forgets a deleted function's series, which makes room again", async () => {
    const registry = new Registry();
    const bounded = new BoundedSeries(counter(registry), 2, 2);
    bounded.get('a', 'http', 'ok').inc();
    bounded.get('a', 'grpc', 'ok').inc();
    bounded.forget('a');
    expect(bounded.size).toBe(0);
    expect(await series(registry, 'test_total')).toEqual([]);
    bounded.get('b', 'http', 'ok').inc();
    expect(await series(registry, 'test_total')).toEqual(['function=b,trigger=http,outcome=ok']);
  });

  it('does not grow under churn: 20 000 names created, half of them deleted, leave the series empty', async () => {
    const registry = new Registry();
    const bounded = new BoundedSeries(counter(registry), 2, 100);
    for (let i = 0; i < 20_000; i++) {
      bounded.get(`fn-${i}`, 'http', 'ok').inc();
      if (i % 2 === 0) bounded.forget(`fn-${i}`);
    }
    // the live ones past the cap went to _other; the deleted ones left nothing behind
    expect(bounded.size).toBeLessThanOrEqual(101);
    expect((await series(registry, 'test_total')).length).toBe(bounded.size);
    bounded.prune(() => false);
    expect(await series(registry, 'test_total')).toEqual(['function=_other,trigger=http,outcome=ok']);
  });

  it('handles a histogram with the function as its only label', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['function'],
      registers: [registry],
    });
    const bounded = new BoundedSeries(h, 0, 1);
    bounded.get('a').observe(0.1);
    bounded.get('b').observe(0.2);
    bounded.forget('a');
    const text = await registry.metrics();
    expect(text).toContain('h_seconds_count{function="_other"} 1');
    expect(text).not.toContain('function="a"');
  });
});

describe('fixed label values', () => {
  it('maps errors to a fixed outcome and reason, never to text from the error', () => {
    expect(classify(undefined, false)).toEqual({ outcome: 'ok', reason: undefined });
    expect(classify(new SkiffError('SKIFF_E_TIMEOUT', 'x'), false).outcome).toBe('timeout');
    expect(classify(new SkiffError('SKIFF_E_TOO_MANY_REQUESTS', 'x'), true)).toEqual({
      outcome: 'rejected',
      reason: 'platform_busy',
    });
    expect(classify(new SkiffError('SKIFF_E_TOO_MANY_REQUESTS', 'x'), false).reason).toBe('at_capacity');
    expect(classify(new Error('anything a stranger wrote'), false)).toEqual({
      outcome: 'error',
      reason: undefined,
    });
    expect(triggerLabel('http')).toBe('http');
    expect(triggerLabel('/some/path')).toBe('other');
  });
});
