/**
 * What a bridge reports for a value user code threw: always a message string (and a stack when there
 * is one), whatever was thrown (an Error without a message or stack, `null`, a number, an object whose
 * getters or toString throw, a revoked Proxy). Texts are cut so that the ERROR frame stays small.
 */
import { inspect } from 'node:util';

export const MAX_MESSAGE_CHARS = 16 * 1024;
export const MAX_STACK_CHARS = 64 * 1024;

export interface Thrown {
  message: string;
  stack?: string;
}

/** A string of at most `max` characters, with a marker when cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} … [cut: ${text.length - max} more characters]`;
}

/** Reads a property without letting a throwing getter or a Proxy trap escape. */
function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A short description of any value, never throwing. */
function describe(value: unknown): string {
  try {
    return inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 1000 });
  } catch {
    try {
      return typeof value;
    } catch {
      return 'an unknown value';
    }
  }
}

export function describeThrown(value: unknown): Thrown {
  let isError = false;
  try {
    isError = value instanceof Error;
  } catch {
    isError = false;
  }
  if (!isError || value === null || typeof value !== 'object') {
    return { message: cut(`the function threw a non-Error value: ${describe(value)}`, MAX_MESSAGE_CHARS) };
  }
  const message = read(value, 'message');
  const stack = read(value, 'stack');
  const name = read(value, 'name');
  const kind = typeof name === 'string' && name !== '' ? name : 'Error';
  const text =
    typeof message === 'string' && message !== ''
      ? message
      : `the function threw ${kind === 'Error' ? 'an Error' : `a ${kind}`} without a message`;
  return {
    message: cut(text, MAX_MESSAGE_CHARS),
    ...(typeof stack === 'string' && stack !== '' ? { stack: cut(stack, MAX_STACK_CHARS) } : {}),
  };
}
