import { describe, expect, it } from 'vitest';
import {
  BlockAssembler,
  ResponseStore,
  encodeBlock,
  parseBlock,
  type BlockOption,
  type Block1Outcome,
} from './coap-blocks.js';

const block = (num: number, more: boolean, szx = 0): BlockOption => ({
  num,
  more,
  szx,
  size: 2 ** (szx + 4),
});
const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
const limits = { maxBytes: 64, maxTransfers: 2, maxPerClient: 1, idleMs: 1000, lifetimeMs: 5000 };

function errorOf(outcome: Block1Outcome) {
  if (outcome.kind !== 'error') throw new Error(`expected an error, got ${outcome.kind}`);
  return { code: outcome.error.code, coapCode: outcome.coapCode, retryAfterSec: outcome.error.retryAfterSec };
}

describe('block options', () => {
  it('round-trips numbers, the More flag and sizes', () => {
    for (const b of [
      block(0, false),
      block(1, true, 6),
      block(15, false, 2),
      block(16, true, 6),
      block(70000, true, 6),
    ]) {
      expect(parseBlock(encodeBlock(b))).toEqual(b);
    }
    expect(encodeBlock(block(0, false))).toEqual(Buffer.alloc(0));
  });

  it('refuses BERT (szx 7) and values over 3 bytes', () => {
    expect(parseBlock(Buffer.from([0x07]))).toBeUndefined();
    expect(parseBlock(Buffer.from([0, 0, 0, 0]))).toBeUndefined();
  });
});

describe('BlockAssembler', () => {
  it('reassembles blocks in order and ignores a retransmitted block', () => {
    const a = new BlockAssembler(limits);
    expect(a.accept('k', 'c', block(0, true), bytes(16, 1)).kind).toBe('continue');
    expect(a.accept('k', 'c', block(1, true), bytes(16, 2)).kind).toBe('continue');
    expect(a.accept('k', 'c', block(1, true), bytes(16, 2)).kind).toBe('continue');
    const done = a.accept('k', 'c', block(2, false), bytes(5, 3));
    expect(done.kind).toBe('complete');
    if (done.kind === 'complete') {
      expect(done.body).toEqual(Buffer.concat([bytes(16, 1), bytes(16, 2), bytes(5, 3)]));
      expect(parseBlock(done.echo)).toEqual(block(2, false));
    }
    expect(a.size).toBe(0);
  });

  it('answers 4.08 to a block without the blocks before it', () => {
    const a = new BlockAssembler(limits);
    expect(errorOf(a.accept('k', 'c', block(1, true), bytes(16, 1)))).toMatchObject({ coapCode: '4.08' });
    a.accept('k', 'c', block(0, true), bytes(16, 1));
    expect(errorOf(a.accept('k', 'c', block(2, false), bytes(3, 1)))).toMatchObject({ coapCode: '4.08' });
    expect(a.size).toBe(0);
  });

  it('refuses an upload as soon as it passes maxBytes, or when Size1 announces more', () => {
    const a = new BlockAssembler(limits);
    for (let i = 0; i < 4; i += 1)
      expect(a.accept('k', 'c', block(i, true), bytes(16, i)).kind).toBe('continue');
    expect(errorOf(a.accept('k', 'c', block(4, true), bytes(16, 4)))).toMatchObject({
      code: 'SKIFF_E_PAYLOAD_TOO_LARGE',
    });
    expect(a.size).toBe(0);
    expect(errorOf(a.accept('k', 'c', block(0, true), bytes(16, 0), 65))).toMatchObject({
      code: 'SKIFF_E_PAYLOAD_TOO_LARGE',
    });
  });

  it('refuses a block with the More flag that is not full', () => {
    const a = new BlockAssembler(limits);
    expect(errorOf(a.accept('k', 'c', block(0, true), bytes(10, 0)))).toMatchObject({
      code: 'SKIFF_E_INVALID_REQUEST',
    });
  });

  it('caps uploads in progress per client and in all with a retryable 5.03', () => {
    const a = new BlockAssembler(limits);
    a.accept('k1', 'c1', block(0, true), bytes(16, 0));
    expect(errorOf(a.accept('k2', 'c1', block(0, true), bytes(16, 0)))).toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
      retryAfterSec: 1,
    });
    a.accept('k3', 'c2', block(0, true), bytes(16, 0));
    expect(errorOf(a.accept('k4', 'c3', block(0, true), bytes(16, 0)))).toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
    });
    // a one-block upload needs no slot
    expect(a.accept('k5', 'c3', block(0, false), bytes(3, 0)).kind).toBe('complete');
  });

  it('drops uploads that stall or last too long', () => {
    let now = 0;
    const a = new BlockAssembler({ ...limits, maxBytes: 4096, maxPerClient: 2 }, () => now);
    a.accept('stalls', 'c', block(0, true), bytes(16, 0));
    a.accept('moves', 'c', block(0, true), bytes(16, 0));
    let num = 1;
    for (; now < 1800; num += 1) {
      now += 900;
      expect(a.accept('moves', 'c', block(num, true), bytes(16, 0)).kind).toBe('continue');
    }
    expect(a.size).toBe(1); // 'stalls' had no block for over idleMs
    expect(errorOf(a.accept('stalls', 'c', block(1, true), bytes(16, 0)))).toMatchObject({
      coapCode: '4.08',
    });
    for (; now <= 5000; num += 1) {
      now += 900;
      a.accept('moves', 'c', block(num, true), bytes(16, 0));
    }
    // past lifetimeMs since its first block, although it never stalled
    expect(a.size).toBe(0);
  });
});

describe('ResponseStore', () => {
  const stored = (n: number) => ({ code: '2.05', options: {}, body: bytes(n, 1) });

  it('keeps responses within its entry and byte caps, oldest out first', () => {
    const s = new ResponseStore({ maxEntries: 2, maxBytes: 100, idleMs: 1000 });
    s.put('a', stored(40));
    s.put('b', stored(40));
    s.put('c', stored(40));
    expect([s.get('a'), s.get('b')?.body.length, s.get('c')?.body.length]).toEqual([undefined, 40, 40]);
    s.put('d', stored(60)); // 40 + 40 + 60 > 100: b, the least recently used, goes
    expect([s.get('b'), s.get('c')?.body.length, s.get('d')?.body.length]).toEqual([undefined, 40, 60]);
    s.put('huge', stored(101));
    expect(s.get('huge')).toBeUndefined();
  });

  it('forgets responses nobody asked a block of for idleMs', () => {
    let now = 0;
    const s = new ResponseStore({ maxEntries: 10, maxBytes: 1000, idleMs: 1000 }, () => now);
    s.put('a', stored(10));
    now = 900;
    expect(s.get('a')).toBeDefined();
    now = 1800;
    expect(s.get('a')).toBeDefined();
    now = 2801;
    expect(s.get('a')).toBeUndefined();
    expect(s.size).toBe(0);
  });
});
