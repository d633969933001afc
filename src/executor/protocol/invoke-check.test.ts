import { describe, expect, it } from 'vitest';
import { FrameKind, type Frame } from './frames.js';
import { parsePlatformFrame, platformFrameSchema } from './messages.js';

const valid: Record<string, unknown> = {
  invocationId: 'inv_1',
  method: 'GET',
  url: 'http://h/p?q=1',
  headers: [
    ['a', 'b'],
    ['c', ''],
  ],
  deadline: 1_765_000_000_000,
  trigger: 'http',
};

/** Values put in place of each field in turn (absent included): strings, odd numbers, other types. */
const values: unknown[] = [
  '',
  'x',
  0,
  -0,
  1.5,
  -1,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  null,
  undefined,
  true,
  {},
  [],
  ['a', 'b'],
  [['a', 'b']],
  [['a']],
  [['a', 'b', 'c']],
  [['a', 1]],
  [[1, 'b']],
  [null],
  ['ab'],
  [[]],
  { 0: 'a', 1: 'b', length: 2 },
  [{ 0: 'a', 1: 'b', length: 2 }],
  // eslint-disable-next-line no-sparse-arrays
  [['a', 'b'], , ['c', 'd']],
];

function metas(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [valid, { ...valid, caller: 'parent' }, { ...valid, extra: 1 }, {}];
  for (const field of [...Object.keys(valid), 'caller']) {
    for (const value of values) {
      const meta: Record<string, unknown> = { ...valid, [field]: value };
      out.push(meta);
      if (value === undefined) {
        const without = { ...valid };
        delete without[field];
        out.push(without);
      }
    }
  }
  return out;
}

const frame = (meta: Record<string, unknown>, id = 7, body: unknown = Buffer.from('b')): Frame =>
  ({ kind: FrameKind.INVOKE, id, meta, body }) as Frame;

function same(f: Frame): void {
  const byHand = parsePlatformFrame(f);
  const bySchema = platformFrameSchema.safeParse(f);
  const what = `${JSON.stringify(f.meta)} id ${f.id}`;
  expect(byHand.ok, what).toBe(bySchema.success);
  if (byHand.ok && bySchema.success) expect(byHand.frame, what).toEqual(bySchema.data);
  if (!byHand.ok) expect(byHand.reason, what).toMatch(/^INVOKE frame: /);
}

describe('INVOKE frames checked by hand (the quick path of every invocation)', () => {
  it('accepts and refuses exactly the metas its schema does, keeping what the schema keeps', () => {
    const all = metas();
    expect(all.length).toBeGreaterThan(150);
    let accepted = 0;
    for (const meta of all) {
      same(frame(meta));
      if (parsePlatformFrame(frame(meta)).ok) accepted++;
    }
    // both sides of the rules are exercised
    expect(accepted).toBeGreaterThan(20);
    expect(all.length - accepted).toBeGreaterThan(100);
  });

  it('checks the wire id and the body as the schema does', () => {
    for (const id of [0, 1, 2 ** 32 - 1, -1, 1.5, Number.NaN, 2 ** 60]) same(frame(valid, id));
    for (const body of [Buffer.alloc(0), new Uint8Array(2), 'text', undefined]) same(frame(valid, 3, body));
  });

  it('drops fields it does not know and keeps the caller of a call', () => {
    const parsed = parsePlatformFrame(frame({ ...valid, caller: 'parent', extra: { x: 1 } }));
    expect(parsed.ok && parsed.frame.meta).toEqual({ ...valid, caller: 'parent' });
    const plain = parsePlatformFrame(frame(valid));
    expect(plain.ok && 'caller' in plain.frame.meta).toBe(false);
  });

  it('words a refusal as the schema does', () => {
    const refused = parsePlatformFrame(frame({ ...valid, deadline: '1' }));
    expect(refused).toEqual({ ok: false, reason: expect.stringMatching(/^INVOKE frame: meta\.deadline/) });
  });
});
