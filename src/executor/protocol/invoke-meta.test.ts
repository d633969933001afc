import { describe, expect, it } from 'vitest';
import type { Invocation } from '../../model/invocation.js';
import { invokeMeta, invokeMetaJson } from './invoke-meta.js';

const base: Invocation = {
  id: '0b7c3c9e-4a57-4e0f-9a1e-2f1f8c7d6e5a',
  function: 'hello',
  trigger: 'http',
  method: 'GET',
  path: '/',
  query: '',
  headers: [['host', '127.0.0.1:8080']],
  body: Buffer.alloc(0),
  deadline: 0,
  host: '127.0.0.1:8080',
};

describe('the INVOKE meta written by hand', () => {
  const cases: [string, Invocation, number][] = [
    ['a plain GET', base, 1_765_000_000_000],
    ['no headers, a query', { ...base, headers: [], path: '/a/b', query: 'x=1&y=%22' }, 5],
    [
      'headers that need escaping',
      {
        ...base,
        headers: [
          ['x-quote', 'say "hi"'],
          ['x-backslash', 'C:\\path\\'],
          ['x-tab', 'a\tb'],
          ['x-control', '\u0000\u0001\u001f\u007f'],
          ['x-latin1', 'caf\u00e9 \u00ff'],
          ['x-unicode', '✓ 😀 \u2028\u2029'],
          ['x-lone', 'a\ud800b\udc00'],
          ['', ''],
        ],
      },
      42,
    ],
    ['a path with quotes and backslashes', { ...base, method: 'POST', path: '/"x"\\y', query: 'q="1"' }, 7],
    ['a call with its caller', { ...base, trigger: 'call', caller: 'caller-fn "x"' }, 9],
    ['a deadline that is not finite', base, Number.POSITIVE_INFINITY],
    [
      'a trace with a parent and a tracestate',
      {
        ...base,
        trigger: 'call',
        caller: 'a',
        trace: {
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          spanId: '00f067aa0ba902b7',
          parentSpanId: 'b7ad6b7169203331',
          flags: 1,
          state: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
        },
      },
      11,
    ],
    [
      'a new trace, not sampled, no tracestate',
      {
        ...base,
        trace: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', flags: 0 },
      },
      12,
    ],
  ];
  for (const [name, inv, deadline] of cases) {
    it(`is JSON.stringify of the meta, character for character: ${name}`, () => {
      const text = invokeMetaJson(inv, deadline);
      expect(text).toBe(JSON.stringify(invokeMeta(inv, deadline)));
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(invokeMeta(inv, deadline))));
    });
  }
});
