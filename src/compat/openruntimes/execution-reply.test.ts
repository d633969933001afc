/** The execution reply's form (Accept) and its response headers (x-executor-response-format). */
import { describe, expect, it } from 'vitest';
import { responseHeaders, wantsJson } from './execution-reply.js';

describe('wantsJson', () => {
  it.each([
    ['application/json', true],
    ['application/*', true],
    ['text/plain, application/json', true],
    ['application/json; charset=utf-8', true],
    ['application/xml', false],
    ['*/*', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (accept, json) => {
    expect(wantsJson(accept)).toBe(json);
  });
});

describe('responseHeaders', () => {
  const pairs: [string, string][] = [
    ['Set-Cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['X-Open-Runtimes-Log-Id', 'abc'],
    ['Content-Type', 'text/plain'],
  ];

  it('keeps the last of a repeated header before format 0.11.0', () => {
    expect(responseHeaders(pairs, '0.10.0')).toEqual({ 'set-cookie': 'b=2', 'content-type': 'text/plain' });
  });

  it('makes arrays of repeated headers from 0.11.0', () => {
    for (const format of ['0.11.0', '0.12.3', '1.0.0']) {
      expect(responseHeaders(pairs, format)['set-cookie']).toEqual(['a=1', 'b=2']);
    }
  });
});
