import { describe, expect, it } from 'vitest';
import { childTrace, incomingTrace, newSpanId, newTraceId, startSpan } from './trace-context.js';
import { traceparentOf } from '../model/trace.js';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('incoming W3C trace context', () => {
  it('continues a valid traceparent, keeping only the sampled flag, with its tracestate', () => {
    expect(
      incomingTrace([
        ['TraceParent', `00-${ID}-${PARENT}-03`],
        ['tracestate', 'a=1, b=2'],
      ]),
    ).toEqual({
      traceId: ID,
      parentSpanId: PARENT,
      flags: 1,
      state: 'a=1,b=2',
    });
  });

  it('joins repeated tracestate headers into one list; drops invalid members', () => {
    const t = incomingTrace([
      ['traceparent', `00-${ID}-${PARENT}-00`],
      ['tracestate', 'a=1'],
      ['tracestate', 'BAD KEY=x,b=2'],
    ]);
    expect(t.state).toBe('a=1,b=2');
    expect(t.flags).toBe(0);
  });

  it.each([
    ['none', []],
    ['version ff', [['traceparent', `ff-${ID}-${PARENT}-01`]]],
    ['zeros', [['traceparent', `00-${'0'.repeat(32)}-${PARENT}-01`]]],
    ['parent zeros', [['traceparent', `00-${ID}-${'0'.repeat(16)}-01`]]],
    ['too long', [['traceparent', `00-${ID}-${PARENT}-01`.padEnd(300, ' ')]]],
    [
      'two',
      [
        ['traceparent', `00-${ID}-${PARENT}-01`],
        ['traceparent', `00-${ID}-${PARENT}-01`],
      ],
    ],
    ['garbage', [['traceparent', '\u0000\u00ff\ud800']]],
  ] as [string, [string, string][]][])('starts a new trace for %s', (_, headers) => {
    const t = incomingTrace([...headers, ['tracestate', 'a=1']]);
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.traceId).not.toBe(ID);
    expect(t.parentSpanId).toBeUndefined();
    expect(t.state).toBeUndefined();
    expect(t.flags).toBe(1);
  });

  it('drops a tracestate over 512 characters or 32 members, keeps the trace', () => {
    const parent: [string, string] = ['traceparent', `00-${ID}-${PARENT}-01`];
    const long = incomingTrace([parent, ['tracestate', `a=${'b'.repeat(511)}`]]);
    const many = incomingTrace([
      parent,
      ['tracestate', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ]);
    const most = incomingTrace([
      parent,
      ['tracestate', Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')],
    ]);
    expect([long.traceId, long.state]).toEqual([ID, undefined]);
    expect([many.traceId, many.state]).toEqual([ID, undefined]);
    expect(most.state?.split(',')).toHaveLength(32);
  });
});

describe('spans and children', () => {
  it('gives each run a span of its own, and a child the caller span as parent', () => {
    const run = startSpan(incomingTrace([['traceparent', `00-${ID}-${PARENT}-01`]]));
    expect(run.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(traceparentOf(run)).toBe(`00-${ID}-${run.spanId}-01`);
    const child = startSpan(childTrace(run));
    expect(child).toMatchObject({ traceId: ID, parentSpanId: run.spanId, flags: 1 });
    expect(child.spanId).not.toBe(run.spanId);
  });

  it('makes distinct ids that are never all zeros', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newSpanId()));
    expect(ids.size).toBe(2000);
    for (let i = 0; i < 300; i++) expect(newTraceId()).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
  });
});
