import { describe, expect, it } from 'vitest';
import {
  BlockAssembler,
  ResponseStore,
  STARTING_BLOCKS,
  clientGroup,
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
  startIdleMs: 1000,
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

  it('over the global caps pushes out the idlest upload of the client holding the most; 5.03 only when none can go', () => {
    let now = 0;
    const a = new BlockAssembler(
      {
        ...limits,
        maxBytes: 4096,
        maxClientBytes: 4096,
        maxPerClient: 8,
        maxTransfers: 4,
        maxTotalBytes: 4096,
      },
      () => now,
    );
    // a flood holds every slot: three uploads from one client, one from another
    for (const [k, c] of [
      ['f1', 'flood'],
      ['f2', 'flood'],
      ['f3', 'flood'],
      ['g1', 'other'],
    ] as const) {
      now += 10;
      expect(a.accept(k, c, block(0, true), bytes(16, 0)).kind).toBe('continue');
    }
    // a new client gets in: the idlest upload of the client holding most ('flood') goes
    now += 10;
    expect(a.accept('mine', 'me', block(0, true), bytes(16, 0)).kind).toBe('continue');
    expect(a.evicted).toBe(1);
    expect(errorOf(a.accept('f1', 'flood', block(1, true), bytes(16, 0)))).toMatchObject({
      coapCode: '4.08',
    });
    // the flood's new uploads push out its own kind, never 'mine', which keeps progressing
    for (let i = 0; i < 20; i += 1) {
      now += 10;
      expect(a.accept('mine', 'me', block(1 + i, true), bytes(16, 0)).kind).toBe('continue');
      a.accept(`new${i}`, 'flood', block(0, true), bytes(16, 0));
    }
    expect(a.accept('mine', 'me', block(21, false), bytes(1, 0)).kind).toBe('complete');
    expect(a.accept('g1', 'other', block(1, false), bytes(1, 0)).kind).toBe('complete');

    // bytes: growing past maxTotalBytes pushes out the client holding most bytes, not the grower
    const b = new BlockAssembler(
      {
        ...limits,
        maxBytes: 4096,
        maxPerClient: 8,
        maxClientBytes: 4096,
        maxTransfers: 100,
        maxTotalBytes: 64,
      },
      () => now,
    );
    b.accept('h1', 'hog', block(0, true), bytes(16, 0));
    b.accept('h1', 'hog', block(1, true), bytes(16, 0));
    b.accept('h2', 'hog', block(0, true), bytes(16, 0));
    b.accept('mine', 'me', block(0, true), bytes(16, 0));
    expect(b.accept('mine', 'me', block(1, true), bytes(16, 0)).kind).toBe('continue');
    expect([b.size, b.bytes]).toEqual([2, 48]); // h1 (32 bytes, the hog's idlest) went
    // when only the grower itself could go: 5.03 (retryable), and it is dropped
    const c = new BlockAssembler({ ...limits, maxTransfers: 100, maxTotalBytes: 40 }, () => now);
    c.accept('k2', 'c2', block(0, true), bytes(16, 0));
    c.accept('k2', 'c2', block(1, true), bytes(16, 0));
    expect(errorOf(c.accept('k2', 'c2', block(2, true), bytes(16, 0)))).toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
      retryAfterSec: 1,
    });
    expect(c.size).toBe(0);
    // a one-block upload needs no slot
    expect(c.accept('k5', 'c3', block(0, false), bytes(3, 0)).kind).toBe('complete');
  });

  it('drops an upload that stalls after its first blocks sooner (startIdleMs) than one that progressed', () => {
    let now = 0;
    const a = new BlockAssembler(
      {
        ...limits,
        maxBytes: 4096,
        maxPerClient: 8,
        maxClientBytes: 8192,
        maxTotalBytes: 8192,
        startIdleMs: 500,
        idleMs: 3000,
        lifetimeMs: 60_000,
      },
      () => now,
    );
    a.accept('starting', 'c', block(0, true), bytes(16, 0));
    a.accept('going', 'c', block(0, true), bytes(16, 0));
    for (let num = 1; num < STARTING_BLOCKS; num += 1) a.accept('going', 'c', block(num, true), bytes(16, 0));
    now += 600;
    a.prune();
    expect(a.size).toBe(1); // 'starting' sent one block and nothing for 600 ms
    now += 2000;
    expect(a.accept('going', 'c', block(STARTING_BLOCKS, false), bytes(1, 0)).kind).toBe('complete');
  });

  it('groups client addresses by IPv4 /24 and IPv6 /48', () => {
    expect(clientGroup('127.0.20.1')).toBe('127.0.20.0/24');
    expect(clientGroup('::ffff:127.0.20.8')).toBe('127.0.20.0/24');
    expect(clientGroup('2001:db8:1:2:3::9')).toBe('2001:db8:1::/48');
    expect(clientGroup('2001:db8:1:ffff::1')).toBe('2001:db8:1::/48');
    expect(clientGroup('::1')).toBe('::1');
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
