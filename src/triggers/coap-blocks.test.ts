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
const limits = {
  maxBytes: 64,
  maxTransfers: 2,
  maxPerClient: 1,
  maxClientBytes: 64,
  maxTotalBytes: 1024,
  idleMs: 1000,
  lifetimeMs: 5000,
};

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

  it('keeps at most maxPerClient uploads per address: a new one pushes out the oldest of that address', () => {
    const a = new BlockAssembler({ ...limits, maxTransfers: 100, maxPerClient: 3, maxClientBytes: 1024 });
    for (let i = 0; i < 50; i += 1) {
      expect(a.accept(`flood${i}`, 'attacker', block(0, true), bytes(16, 0)).kind).toBe('continue');
    }
    expect(a.size).toBe(3);
    expect(a.evicted).toBe(47);
    // the newest three survive and still complete; the oldest must start again
    expect(a.accept('flood49', 'attacker', block(1, false), bytes(2, 0)).kind).toBe('complete');
    expect(errorOf(a.accept('flood0', 'attacker', block(1, false), bytes(2, 0)))).toMatchObject({
      coapCode: '4.08',
    });
    // another address is untouched by all this
    expect(a.accept('mine', 'friend', block(0, true), bytes(16, 0)).kind).toBe('continue');
    expect(a.accept('mine', 'friend', block(1, false), bytes(1, 0)).kind).toBe('complete');
  });

  it('keeps at most maxClientBytes per address: growing past it pushes out the oldest of that address', () => {
    const a = new BlockAssembler({ ...limits, maxTransfers: 100, maxPerClient: 100, maxClientBytes: 48 });
    a.accept('friend', 'other', block(0, true), bytes(16, 0));
    a.accept('old', 'c', block(0, true), bytes(16, 0));
    a.accept('new', 'c', block(0, true), bytes(16, 0));
    expect([a.size, a.bytes]).toEqual([3, 48]);
    // 'new' grows to 32 bytes: with 'old' (16) and 'friend' (another address) that is within 48
    expect(a.accept('new', 'c', block(1, true), bytes(16, 0)).kind).toBe('continue');
    expect([a.size, a.evicted]).toEqual([3, 0]);
    // to 48 bytes: 'old' has to go
    expect(a.accept('new', 'c', block(2, true), bytes(16, 0)).kind).toBe('continue');
    expect([a.size, a.evicted, a.bytes]).toEqual([2, 1, 64]);
    expect(a.accept('friend', 'other', block(1, false), bytes(1, 0)).kind).toBe('complete');
  });

  it('refuses with a retryable 5.03 over the global count and byte caps, evicting nobody', () => {
    const a = new BlockAssembler({ ...limits, maxTransfers: 2, maxTotalBytes: 40 });
    a.accept('k1', 'c1', block(0, true), bytes(16, 0));
    a.accept('k2', 'c2', block(0, true), bytes(16, 0));
    expect(errorOf(a.accept('k3', 'c3', block(0, true), bytes(16, 0)))).toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
      retryAfterSec: 1,
    });
    // 32 held; 16 more would pass 40: that upload is dropped, the other stays
    expect(errorOf(a.accept('k2', 'c2', block(1, true), bytes(16, 0)))).toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
    });
    expect([a.size, a.bytes, a.evicted]).toEqual([1, 16, 0]);
    // a one-block upload needs no slot
    expect(a.accept('k5', 'c3', block(0, false), bytes(3, 0)).kind).toBe('complete');
  });

  it('drops uploads that stall or last too long', () => {
    let now = 0;
    const a = new BlockAssembler(
      { ...limits, maxBytes: 4096, maxPerClient: 2, maxClientBytes: 8192, maxTotalBytes: 8192 },
      () => now,
    );
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
  const storeLimits = {
    maxEntries: 100,
    maxBytes: 10_000,
    maxPerClient: 100,
    maxClientBytes: 10_000,
    idleMs: 1000,
  };

  it('keeps at most maxPerClient responses and maxClientBytes per address, the oldest of that address out first', () => {
    const s = new ResponseStore({ ...storeLimits, maxPerClient: 2, maxClientBytes: 100 });
    s.put('friend', stored(40), 'other');
    for (let i = 0; i < 20; i += 1) s.put(`flood${i}`, stored(10), 'attacker');
    expect(s.size).toBe(3);
    expect(s.get('friend')?.body.length).toBe(40);
    expect([s.get('flood18')?.body.length, s.get('flood19')?.body.length]).toEqual([10, 10]);
    s.put('big', stored(90), 'attacker'); // 10 + 10 + 90 > 100: the oldest of the two goes
    expect([s.get('flood18'), s.get('flood19')?.body.length, s.get('big')?.body.length]).toEqual([
      undefined,
      10,
      90,
    ]);
    expect(s.get('friend')).toBeDefined();
  });

  it('keeps responses within its entry and byte caps, oldest out first', () => {
    const s = new ResponseStore({ ...storeLimits, maxEntries: 2, maxBytes: 100 });
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
    const s = new ResponseStore({ ...storeLimits, maxEntries: 10, maxBytes: 1000 }, () => now);
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
