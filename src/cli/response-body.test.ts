import { describe, expect, it } from 'vitest';
import { encodeBody, utf8Text } from './response-body.js';

describe('encodeBody', () => {
  it('parses a JSON body when the content type says JSON (with a suffix or parameters too)', () => {
    const bytes = Buffer.from('{"name":"Ada","n":[1,2]}');
    expect(encodeBody(bytes, 'application/json')).toEqual({
      body: { name: 'Ada', n: [1, 2] },
      bodyEncoding: 'json',
    });
    expect(encodeBody(bytes, 'application/problem+json; charset=utf-8').bodyEncoding).toBe('json');
  });

  it('keeps text as text: other types, JSON-looking text without a JSON type, broken JSON, empty bodies', () => {
    expect(encodeBody(Buffer.from('{"a":1}'), 'text/plain')).toEqual({
      body: '{"a":1}',
      bodyEncoding: 'utf8',
    });
    expect(encodeBody(Buffer.from('{"a":'), 'application/json')).toEqual({
      body: '{"a":',
      bodyEncoding: 'utf8',
    });
    expect(encodeBody(Buffer.alloc(0), 'application/json')).toEqual({ body: '', bodyEncoding: 'utf8' });
    expect(encodeBody(Buffer.from('héllo'), null)).toEqual({ body: 'héllo', bodyEncoding: 'utf8' });
  });

  it('gives bytes that are not UTF-8 as base64, whatever the type claims', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(utf8Text(bytes)).toBeUndefined();
    expect(encodeBody(bytes, 'application/json')).toEqual({ body: '//4AQQ==', bodyEncoding: 'base64' });
  });
});
