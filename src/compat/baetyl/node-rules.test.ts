/** The OpenEdge / Baetyl flavor's rules in the Node bridge (runtimes/node/baetyl.ts). */
import { describe, expect, it } from 'vitest';
import {
  baetylContext,
  baetylEvent,
  baetylResult,
  failure,
  invokeBaetyl,
  type BaetylHandler,
} from '../../../runtimes/node/baetyl.js';
import type { InvokeMeta } from '../../executor/protocol/messages.js';

const meta = (headers: [string, string][] = []): InvokeMeta => ({
  invocationId: '2f1c9a4e-0000-4000-8000-000000000001',
  method: 'POST',
  url: 'http://localhost/',
  headers,
  deadline: 0,
  trigger: 'mqtt',
});

const run = (handler: BaetylHandler, body = '{}', signal = new AbortController().signal) =>
  invokeBaetyl(handler, meta(), Buffer.from(body), 'fn', signal, () => undefined);

const textOf = (r: Awaited<ReturnType<typeof run>>) => (r === 'cancelled' ? r : r.body.toString());

describe('the Baetyl event and context (Node)', () => {
  it('JSON values parsed, anything else a Buffer, empty {} unless generation 2', () => {
    expect(baetylEvent(Buffer.from(' {"a":1} '), [])).toEqual({ a: 1 });
    expect(baetylEvent(Buffer.from('0'), [])).toBe(0);
    expect(baetylEvent(Buffer.from('hello'), [])).toEqual(Buffer.from('hello'));
    expect(baetylEvent(Buffer.alloc(0), [])).toEqual({});
    const empty = baetylEvent(Buffer.alloc(0), [['Baetyl-Generation', '2']]);
    expect(Buffer.isBuffer(empty) && empty.length === 0).toBe(true);
  });

  it('the 1.0 context from the MQTT headers; a baetyl-context object as it is', () => {
    const built = baetylContext(
      meta([
        ['mqtt-topic', 'a/%E2%82%AC'],
        ['mqtt-qos', '1'],
      ]),
      'fn',
      5_999,
    );
    expect(built).toEqual({
      messageQOS: 1,
      messageTopic: 'a/€',
      messageTimestamp: 5,
      functionName: 'fn',
      functionInvokeID: meta().invocationId,
      invokeid: meta().invocationId,
    });
    expect(
      baetylContext(
        meta([
          ['mqtt-topic', '100%'],
          ['mqtt-qos', '-1'],
        ]),
        'fn',
      ),
    ).toMatchObject({
      messageTopic: '100%',
      messageQOS: 0,
    });
    expect(baetylContext(meta([['baetyl-context', '{"invokeId":"abc"}']]), 'fn')).toEqual({
      invokeId: 'abc',
    });
    // not an object: built as without it
    expect(baetylContext(meta([['baetyl-context', '[1]']]), 'fn')).toHaveProperty('functionName', 'fn');
  });
});

describe('the Baetyl result (Node)', () => {
  it('filters undefined, null and "", publishes 0, false and []', () => {
    for (const empty of [undefined, null, '']) {
      expect(baetylResult(empty)).toEqual({ status: 200, headers: [], body: Buffer.alloc(0) });
    }
    expect(baetylResult(0).body.toString()).toBe('0');
    expect(baetylResult(false).body.toString()).toBe('false');
    expect(baetylResult([]).body.toString()).toBe('[]');
    expect(baetylResult('hi').body.toString()).toBe('"hi"');
    expect(baetylResult(Buffer.from([1, 2])).headers).toEqual([['content-type', 'application/octet-stream']]);
  });

  it('a value without a JSON form fails with [UserCodeReturn]', () => {
    const fn = baetylResult(() => 1);
    expect(fn.status).toBe(500);
    expect(fn.headers).toContainEqual(['baetyl-error', 'UserCodeReturn']);
    expect(fn.body.toString()).toMatch(/^Exception calling application: \('\[UserCodeReturn\]', TypeError/);
    expect(baetylResult(10n).body.toString()).toBe(
      "Exception calling application: ('[UserCodeReturn]', TypeError: Do not know how to serialize a BigInt)",
    );
  });

  it('formats any error as upstream: its toString()', () => {
    expect(failure('UserCodeInvoke', 'plain').body.toString()).toBe(
      "Exception calling application: ('[UserCodeInvoke]', plain)",
    );
    const noString = Object.create(null) as object;
    expect(failure('UserCodeInvoke', noString).body.toString()).toContain('[UserCodeInvoke]');
  });
});

describe('running a Baetyl handler (Node)', () => {
  it('callback style: the callback answers, a plain return value does not', async () => {
    expect(textOf(await run((_e, _c, cb) => cb(null, { ok: 1 })))).toBe('{"ok":1}');
    const timer: BaetylHandler = (_e, _c, cb) => setTimeout(() => cb(null, 'late'), 5);
    expect(textOf(await run(timer))).toBe('"late"');
    expect(textOf(await run((_e, _c, cb) => cb(new Error('x'))))).toBe(
      "Exception calling application: ('[UserCodeInvoke]', Error: x)",
    );
    // upstream's test is `err != null`: 0 is an error
    expect(textOf(await run((_e, _c, cb) => cb(0, 'v')))).toBe(
      "Exception calling application: ('[UserCodeInvoke]', 0)",
    );
    // an async handler of three parameters may return its value
    expect(textOf(await run(async (_e, _c, _cb) => Promise.resolve(7)))).toBe('7');
  });

  it('fewer parameters: the return value or promise answers; the first answer wins', async () => {
    expect(textOf(await run((e) => e, '{"a":1}'))).toBe('{"a":1}');
    expect(textOf(await run(() => undefined))).toBe('');
    expect(textOf(await run(async () => Promise.reject(new RangeError('r'))))).toBe(
      "Exception calling application: ('[UserCodeInvoke]', RangeError: r)",
    );
    const thrower: BaetylHandler = () => {
      throw new TypeError('boom');
    };
    expect(textOf(await run(thrower))).toBe(
      "Exception calling application: ('[UserCodeInvoke]', TypeError: boom)",
    );
  });

  it('a cancelled invocation stops waiting', async () => {
    const controller = new AbortController();
    const pending = run((_e, _c, _cb) => undefined, '{}', controller.signal);
    controller.abort();
    expect(await pending).toBe('cancelled');
  });
});
