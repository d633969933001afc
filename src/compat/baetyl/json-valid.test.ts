import { describe, expect, it } from 'vitest';
import { isJson, MAX_JSON_DEPTH } from './json-valid.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const SAMPLES = [
  '',
  ' ',
  '0',
  '-0',
  '01',
  '-',
  '1.',
  '1.5',
  '.5',
  '1e5',
  '1E+5',
  '1e-5',
  '1e',
  '1e+',
  '-1.25e-3',
  '00',
  'true',
  'false',
  'null',
  'tru',
  'nulll',
  'True',
  'NaN',
  'Infinity',
  '"',
  '""',
  '"a"',
  '"\\"',
  '"\\n"',
  '"\\u00e9"',
  '"\\u00g9"',
  '"\\x"',
  '"\t"',
  '"中"',
  '"a\\/b"',
  '[]',
  '[ ]',
  '[1,]',
  '[,1]',
  '[1 2]',
  '[1,2]',
  '{}',
  '{ }',
  '{"a":1}',
  '{"a" : [1, {"b": null}]}',
  '{"a":}',
  '{"a" 1}',
  '{a:1}',
  '{"a":1,}',
  '{,}',
  '{"a":1 "b":2}',
  '[1]]',
  '[[1]',
  '{"a":[}',
  ' \n\t\r{"a":"b"}\r\n ',
  '1 2',
  '"a" "b"',
  '[1]x',
  '\u00a0 1',
  '{"a":{"b":{"c":[true,false,null,-1.5e10,"s"]}}}',
  '[{}, [], {"": ""}]',
  '{"a":1}}',
  '[}',
  '{]',
];

describe('isJson', () => {
  it.each(SAMPLES)('agrees with JSON.parse on %j', (text) => {
    expect(isJson(Buffer.from(text))).toBe(parses(text));
  });

  it(`takes ${MAX_JSON_DEPTH} levels and refuses one more, as Go does`, () => {
    const nested = (n: number) => Buffer.from('['.repeat(n) + ']'.repeat(n));
    expect(isJson(nested(MAX_JSON_DEPTH))).toBe(true);
    expect(isJson(nested(MAX_JSON_DEPTH + 1))).toBe(false);
    expect(isJson(Buffer.from(`${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`))).toBe(true);
  });

  it('takes strings that are not UTF-8 (Go does not check them)', () => {
    expect(isJson(Buffer.from([0x22, 0xff, 0xfe, 0x22]))).toBe(true);
  });

  it('takes megabytes of arrays and objects, and deep nesting up to the limit (speed: bench, not here)', () => {
    const shapes = [
      `[${'{},'.repeat(1_500_000)}{}]`,
      `[${'[],'.repeat(1_500_000)}[]]`,
      `[${`${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)},`.repeat(200)}0]`,
    ];
    for (const text of shapes) expect(isJson(Buffer.from(text))).toBe(true);
    expect(isJson(Buffer.from(`[${'{},'.repeat(1_500_000)}{}`))).toBe(false);
  });
});
