/**
 * The `ctx` a native handler gets, built so that every call's object has one of two shapes V8 shares
 * (with and without `caller`). As an object literal with a spread in its middle and a getter of its
 * own per call, each ctx was a dictionary-mode object: slow to build, and the largest kind of garbage
 * a warm instance promoted to its old space. Its own keys, their order and attributes are those of that
 * literal: `signal` is an enumerable, configurable getter (one function for every ctx, reading the
 * invocation from a non-enumerable symbol-keyed property), the rest plain data properties.
 */
import type { InvocationSignal } from './invocation.js';
import type { HandlerContext } from './result.js';

const INVOCATION = Symbol('skiff.invocation');

type Built = HandlerContext & { [INVOCATION]: InvocationSignal };

const SIGNAL: PropertyDescriptor = {
  get(this: Built): AbortSignal {
    return this[INVOCATION].signal;
  },
  enumerable: true,
  configurable: true,
};

/** What a ctx holds besides its signal, in the order of its keys (`caller` left out when undefined). */
export type ContextFields = Omit<HandlerContext, 'signal' | 'caller'> & { caller: string | undefined };

export function handlerContext(fields: ContextFields, invocation: InvocationSignal): HandlerContext {
  const ctx = {
    functionName: fields.functionName,
    version: fields.version,
    invocationId: fields.invocationId,
    deadline: fields.deadline,
    trigger: fields.trigger,
    traceId: fields.traceId,
    traceparent: fields.traceparent,
    tracestate: fields.tracestate,
  } as Built;
  if (fields.caller !== undefined) ctx.caller = fields.caller;
  ctx.call = fields.call;
  ctx.cast = fields.cast;
  ctx.state = fields.state;
  ctx.env = fields.env;
  ctx.secrets = fields.secrets;
  Object.defineProperty(ctx, INVOCATION, { value: invocation });
  Object.defineProperty(ctx, 'signal', SIGNAL);
  ctx.log = fields.log;
  return ctx;
}
