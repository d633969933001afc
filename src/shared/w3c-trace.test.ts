import { parseTraceParent as otelParse, TraceState } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { keptTraceState, parseTraceParent } from './w3c-trace.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

/** A deterministic stream of numbers (no Math.random: a failure can be run again). */
function numbers(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
}

describe('the W3C trace headers, read as @opentelemetry/core reads them', () => {
  it('parses traceparent headers alike', () => {
    const cases = [
      `00-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-00`,
      ` 00-${TRACE}-${SPAN}-01 `,
      `00-${TRACE}-${SPAN}-01-extra`,
      `01-${TRACE}-${SPAN}-01-extra`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE}-${SPAN}`,
      `cc-${TRACE}-${SPAN}-09-`,
      '',
      'garbage',
    ];
    const next = numbers(7);
    const hex = '0123456789abcdef-fA ';
    for (let i = 0; i < 2000; i++) {
      const chars = [...`00-${TRACE}-${SPAN}-01`];
      for (let k = next() % 4; k > 0; k--) chars[next() % chars.length] = hex[next() % hex.length] ?? '';
      cases.push(chars.join(''));
    }
    for (const value of cases) expect(parseTraceParent(value), value).toEqual(otelParse(value));
  });

  it('keeps the same tracestate members', () => {
    const cases = [
      'congo=t61rcWkgMzE',
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      ' rojo = 1 , congo=2 ',
      'a=1,a=2,b=3,a=4',
      'nokey,=v,k=,k=v=w,k=a,b',
      'tenant@vendor=x,1tenant@vendor=y,Upper=z,k*/_-=ok',
      `${'k'.repeat(256)}=v,${'k'.repeat(257)}=v`,
      Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(','),
      Array.from({ length: 20 }, (_, i) => `key${i}=${'v'.repeat(40)}`).join(','),
      'k=va lue,k2=trailing ,k3=\u00e9',
      '',
    ];
    const next = numbers(11);
    const alphabet = 'ab1@*/_-=, \t~!z';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      for (let k = next() % 40; k > 0; k--) s += alphabet[next() % alphabet.length] ?? '';
      cases.push(s);
    }
    for (const raw of cases) expect(keptTraceState(raw), raw).toBe(new TraceState(raw).serialize());
  });
});
