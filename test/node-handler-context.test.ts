/**
 * The ctx of a native Node handler (runtimes/node/handler-context.ts) is built property by property so
 * that V8 keeps it a fast object; what a handler sees of it is what the object literal it replaced
 * gave: the same own keys in the same order, the same attributes, a `signal` getter of its own
 * invocation (aborted once cancelled), and `caller` only for calls and casts.
 */
import { describe, expect, it } from 'vitest';
import { handlerContext, type ContextFields } from '../runtimes/node/handler-context.js';
import { InvocationSignal } from '../runtimes/node/invocation.js';
import type { HandlerContext } from '../runtimes/node/result.js';

const noop = (): never => {
  throw new Error('not called');
};

function fields(caller: string | undefined): ContextFields {
  return {
    functionName: 'f',
    version: 3,
    invocationId: 'inv_1',
    deadline: 1_765_000_000_000,
    trigger: caller === undefined ? 'http' : 'call',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    tracestate: '',
    caller,
    call: noop,
    cast: noop,
    state: {} as HandlerContext['state'],
    env: { A: 'b' },
    secrets: Object.freeze({ S: 't' }),
    log: () => undefined,
  };
}

/** The object literal bridge.ts built before, for comparison. */
function literal(f: ContextFields, invocation: InvocationSignal): HandlerContext {
  return {
    functionName: f.functionName,
    version: f.version,
    invocationId: f.invocationId,
    deadline: f.deadline,
    trigger: f.trigger,
    traceId: f.traceId,
    traceparent: f.traceparent,
    tracestate: f.tracestate,
    ...(f.caller === undefined ? {} : { caller: f.caller }),
    call: f.call,
    cast: f.cast,
    state: f.state,
    env: f.env,
    secrets: f.secrets,
    get signal() {
      return invocation.signal;
    },
    log: f.log,
  };
}

/** Own string keys with their attributes (a getter's function left out: it is another function). */
function shape(o: object): unknown[] {
  return Object.entries(Object.getOwnPropertyDescriptors(o)).map(([key, d]) => [
    key,
    d.enumerable,
    d.configurable,
    d.writable,
    typeof d.get,
    typeof d.set,
    d.get === undefined ? d.value : undefined,
  ]);
}

describe('the ctx of a native Node handler', () => {
  it('has the keys, order and attributes of the object literal it replaced, caller only when given', () => {
    for (const caller of [undefined, 'parent']) {
      const invocation = new InvocationSignal();
      const given = fields(caller);
      const ctx = handlerContext(given, invocation);
      const before = literal(given, invocation);
      expect(shape(ctx)).toEqual(shape(before));
      expect(Object.keys(ctx)).toEqual(Object.keys(before));
      expect('caller' in ctx).toBe(caller !== undefined);
      expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
      expect(JSON.stringify(ctx)).toBe(JSON.stringify(before));
    }
  });

  it("reads its own invocation's signal, through a spread copy too, aborted once cancelled", () => {
    const first = new InvocationSignal();
    const second = new InvocationSignal();
    const a = handlerContext(fields(undefined), first);
    const b = handlerContext(fields('parent'), second);
    expect(a.signal).toBe(first.signal);
    expect(b.signal).toBe(second.signal);
    expect({ ...a }.signal).toBe(first.signal);
    first.cancel();
    expect(a.signal.aborted).toBe(true);
    expect(b.signal.aborted).toBe(false);
  });
});
