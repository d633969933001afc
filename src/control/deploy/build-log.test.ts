import { describe, expect, it } from 'vitest';
import { BuildLog } from './build-log.js';

describe('BuildLog', () => {
  it('keeps a short log whole', () => {
    const log = new BuildLog(100);
    log.add('one');
    log.add('two');
    expect(log.text()).toBe('one\ntwo');
    expect(log.lines()).toEqual(['one', 'two']);
  });

  it('keeps the head and the tail of a long log, with a marker between them', () => {
    const log = new BuildLog(1000);
    log.add('started');
    for (let i = 0; i < 10_000; i++) log.add(`line ${i} ${'x'.repeat(50)}`);
    log.add('ERROR: the real cause');
    const text = log.text();
    expect(text.startsWith('started\nline 0 ')).toBe(true);
    expect(text.endsWith('ERROR: the real cause')).toBe(true);
    expect(text).toMatch(/\[… \d+ characters of build output left out …\]/);
    expect(text.length).toBeLessThan(1100);
  });

  it('bounds one enormous line too', () => {
    const log = new BuildLog(1000);
    log.add('a'.repeat(1_000_000) + 'END');
    const text = log.text();
    expect(text.length).toBeLessThan(1100);
    expect(text.endsWith('END')).toBe(true);
  });
});
