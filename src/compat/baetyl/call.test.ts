import { describe, expect, it } from 'vitest';
import { callHeaders, outcomeOf, tokenHeaders, topicHeader } from './call.js';
import { timestampOf, v1Context } from './grpc-messages.js';
import { grpcNotes } from './grpc.js';
import { isJson, routeOf } from './proxy.js';

describe('Baetyl calls', () => {
  it('sets the context, topic, QoS and generation headers, the caller’s token headers last', () => {
    const headers = callHeaders({
      fn: 'f',
      payload: Buffer.alloc(0),
      context: { a: 1 },
      message: { topic: 'a b/ü', qos: 1 },
      generation2: true,
      trigger: 'grpc',
      tokens: [['x-auth-token', 't']],
      deadline: 0,
    });
    expect(headers).toEqual([
      ['content-type', 'application/octet-stream'],
      ['baetyl-context', '{"a":1}'],
      ['mqtt-topic', 'a%20b/%C3%BC'],
      ['mqtt-qos', '1'],
      ['baetyl-generation', '2'],
      ['x-auth-token', 't'],
    ]);
    expect(topicHeader('x\uD800y')).toBe('x%EF%BF%BDy');
  });

  it('keeps only token headers of the caller', () => {
    expect(
      tokenHeaders([
        ['X-Auth-Token', 'a'],
        ['authorization', 'Bearer b'],
        ['baetyl-context', '{}'],
        ['scw-functions-token', ['c', 'd']],
        ['user-agent', 'x'],
      ]),
    ).toEqual([
      ['x-auth-token', 'a'],
      ['authorization', 'Bearer b'],
      ['scw-functions-token', 'c'],
    ]);
  });

  it('maps results: a success is the payload, an error status is the function’s error text', () => {
    const body = Buffer.from('out');
    expect(outcomeOf({ status: 200, headers: [], body })).toEqual({ ok: true, payload: body });
    expect(
      outcomeOf({
        status: 500,
        headers: [['Baetyl-Error', 'UserCodeInvoke']],
        body: Buffer.from('[UserCodeInvoke] x'),
      }),
    ).toEqual({ ok: false, kind: 'function', text: '[UserCodeInvoke] x' });
    expect(outcomeOf({ status: 404, headers: [], body: Buffer.alloc(0) })).toEqual({
      ok: false,
      kind: 'function',
      text: 'status 404',
    });
  });
});

describe('Baetyl messages', () => {
  const now = () => 1_700_000_000_500;

  it('takes the message’s Timestamp unless it is zero or absent', () => {
    expect(timestampOf('-5', now)).toBe(-5);
    expect(timestampOf('0', now)).toBe(1_700_000_000);
    expect(timestampOf(undefined, now)).toBe(1_700_000_000);
  });

  it('builds the 1.0 context, with a new UUID for a message without FunctionInvokeID', () => {
    const message = {
      QOS: 1,
      Topic: 't',
      Payload: Buffer.alloc(0),
      FunctionName: 'f',
      FunctionInvokeID: 'i',
    };
    expect(v1Context({ ...message, Timestamp: '9' }, now)).toEqual({
      messageQOS: 1,
      messageTopic: 't',
      messageTimestamp: 9,
      functionName: 'f',
      functionInvokeID: 'i',
      invokeid: 'i',
    });
    const fresh = v1Context({ ...message, FunctionInvokeID: '' }, now);
    expect(fresh['functionInvokeID']).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh['invokeid']).toBe(fresh['functionInvokeID']);
  });
});

describe('the v2 proxy', () => {
  it('routes /<service> and /<service>/<function>, percent-decoded', () => {
    expect(routeOf('/svc')).toEqual({ service: 'svc', functionName: '' });
    expect(routeOf('/svc/fn?x=1')).toEqual({ service: 'svc', functionName: 'fn' });
    expect(routeOf('/s%20v/f%2Fn')).toEqual({ service: 's v', functionName: 'f/n' });
    for (const bad of ['/', '//fn', '/svc/', '/a/b/c', '/%E0%A4%A'])
      expect(routeOf(bad), bad).toBeUndefined();
  });

  it('calls JSON what Go’s json.Valid does', () => {
    for (const ok of ['{}', ' [1] ', '"s"', '0', 'null']) expect(isJson(Buffer.from(ok)), ok).toBe(true);
    for (const no of ['', 'hi', '{', '\x00']) expect(isJson(Buffer.from(no)), no).toBe(false);
  });
});

describe('the gRPC notes', () => {
  it('warns when the gRPC trigger is off or its limit is below compat.baetyl.maxMessageBytes', () => {
    expect(grpcNotes({ enabled: true, maxMessageBytes: 4_194_304 }, 4_194_304)).toEqual([]);
    expect(grpcNotes({ enabled: true, maxMessageBytes: 1_048_576 }, 4_194_304)[0]).toMatch(
      /grpc\.maxMessageBytes = 1048576/,
    );
    expect(grpcNotes({ enabled: false, maxMessageBytes: 4_194_304 }, 1024)[0]).toMatch(/not served/);
  });
});
