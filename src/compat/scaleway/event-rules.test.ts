/** The Scaleway flavor's event and response rules of the Node bridge (runtimes/node/scaleway-event.ts). */
import { describe, expect, it } from 'vitest';
import {
  canonicalName,
  eventBody,
  eventHeaders,
  fromNodeResult,
  fromText,
  scalewayEvent,
} from '../../../runtimes/node/scaleway-event.js';

const text = (r: { body: Buffer }) => r.body.toString('utf8');

describe('the Scaleway event', () => {
  it('canonical header names, repeated headers joined with a comma', () => {
    expect(canonicalName('content-type')).toBe('Content-Type');
    expect(canonicalName('X-REQUEST-ID')).toBe('X-Request-Id');
    expect(
      eventHeaders([
        ['x-a', 'v1'],
        ['x-a', 'v2'],
        ['__proto__', 'p'],
      ]),
    ).toEqual(
      Object.fromEntries([
        ['X-A', 'v1,v2'],
        ['__proto__', 'p'],
      ]),
    );
    // an own property, not the prototype
    expect(Object.getPrototypeOf(eventHeaders([['__proto__', 'p']]))).toBe(Object.prototype);
  });

  it('isBase64Encoded: valid base64 of UTF-8 text, binary bodies in base64, else absent', () => {
    expect(eventBody(Buffer.alloc(0))).toEqual({ body: '', isBase64Encoded: true });
    expect(eventBody(Buffer.from('aGk='))).toEqual({ body: 'aGk=', isBase64Encoded: true });
    expect(eventBody(Buffer.from('Hello World'))).toEqual({ body: 'Hello World' });
    expect(eventBody(Buffer.from('aGk'))).toEqual({ body: 'aGk' });
    expect(eventBody(Buffer.from('gIE='))).toEqual({ body: 'gIE=' });
    expect(eventBody(Buffer.from([0xff, 0xfe, 0xfd]))).toEqual({ body: '//79', isBase64Encoded: true });
  });

  it('path, query (decoded, last wins) and method from the invocation', () => {
    const meta = {
      invocationId: 'i',
      method: 'PATCH',
      url: 'http://h:1/a/b%20c?x=1&x=2&y=a+b&z',
      headers: [],
      deadline: 0,
      trigger: 'http',
    };
    const event = scalewayEvent(meta, Buffer.from('{}'));
    expect(event).toMatchObject({
      path: '/a/b%20c',
      httpMethod: 'PATCH',
      queryStringParameters: { x: '2', y: 'a b', z: '' },
      body: '{}',
    });
    expect(event).not.toHaveProperty('isBase64Encoded');
    expect(scalewayEvent({ ...meta, url: 'http://h' }, Buffer.alloc(0))['path']).toBe('/');
  });
});

describe('the Scaleway response mapping', () => {
  it('records: status, body kinds, headers with arrays, base64', () => {
    expect(fromText('{"statusCode":404}')).toMatchObject({ status: 404 });
    expect(text(fromText('{"statusCode":404}'))).toBe('');
    expect(text(fromText('{"body":5}'))).toBe('5');
    expect(text(fromText('{"body":[1,2]}'))).toBe('[1,2]');
    expect(text(fromText('{"body":null}'))).toBe('');
    expect(fromText('{"body":"x","headers":{"Set-Cookie":["a=1","b=2"],"X-N":3}}').headers).toEqual([
      ['content-type', 'text/plain; charset=utf-8'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-n', '3'],
    ]);
    const bytes = fromText('{"body":"gIE=","isBase64Encoded":true}');
    expect(bytes.body).toEqual(Buffer.from([0x80, 0x81]));
    expect(bytes.headers).toEqual([['content-type', 'application/octet-stream']]);
    expect(fromText('{"body":"gIE","isBase64Encoded":true}').status).toBe(500);
    expect(fromText('{"body":5,"isBase64Encoded":true}').status).toBe(500);
    expect(fromText('{"statusCode":"200"}').status).toBe(500);
    expect(fromText('{"statusCode":99}').status).toBe(500);
  });

  it('anything else is a 200 with the text', () => {
    expect(text(fromText('[1,2]'))).toBe('[1,2]');
    expect(text(fromText('{"x":1}'))).toBe('{"x":1}');
    expect(text(fromText('not json'))).toBe('not json');
    expect(text(fromNodeResult(42))).toBe('42');
    expect(text(fromNodeResult(undefined))).toBe('');
    expect(text(fromNodeResult(null))).toBe('null');
    expect(text(fromNodeResult(false))).toBe('false');
    expect(fromNodeResult({ statusCode: 201, body: { a: 1 } })).toMatchObject({ status: 201 });
    expect(fromNodeResult(new Uint8Array([0xff])).headers).toEqual([
      ['content-type', 'application/octet-stream'],
    ]);
  });
});
