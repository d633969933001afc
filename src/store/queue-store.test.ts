import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestBytes } from './queue-accounting.js';
import { QueueStore, type AsyncRequest } from './queue-store.js';

const request = (id: string, bytes = 100): AsyncRequest => ({
  id,
  function: 'f',
  trigger: 'async',
  method: 'POST',
  path: '/',
  query: '',
  headers: [],
  body: Buffer.alloc(bytes),
  host: 'localhost',
  maxRetries: 2,
  expiresAt: Date.now() + 60_000,
  callbackUrl: null,
});

describe('QueueStore', () => {
  let dir: string;
  let store: QueueStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    store = new QueueStore(path.join(dir, 'queue.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts an attempt when it is claimed, and dead-letters after retries + 1 interrupted ones', () => {
    store.accept(request('a'));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [claimed] = store.claim(1);
      expect(claimed).toMatchObject({ id: 'a', attempts: attempt });
      expect(store.get('a')).toMatchObject({ status: 'running', attempts: attempt });
      // the platform dies here; at the next start:
      const { requeued, failed } = store.interrupted();
      if (attempt < 3) expect({ requeued, failed }).toEqual({ requeued: 1, failed: [] });
      else expect({ requeued, failed }).toEqual({ requeued: 0, failed: ['a'] });
    }
    const dead = store.get('a');
    expect(dead).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: { code: 'SKIFF_E_INSTANCE_CRASHED', message: 'the platform stopped during the attempt 3 times' },
    });
    expect(dead?.history.map((h) => h.outcome)).toEqual(Array(3).fill('SKIFF_E_INSTANCE_CRASHED'));
    expect(store.claim(1)).toEqual([]);
  });

  it('takes back the attempt of a refusal, a release at a graceful stop, and an uncounted finish', () => {
    store.accept(request('a'));
    store.claim(1);
    expect(store.retry('a', 0, { at: 0, outcome: 'SKIFF_E_TOO_MANY_REQUESTS' }, false)).toBe(true);
    expect(store.get('a')?.attempts).toBe(0);
    store.claim(1);
    expect(store.release(['a'])).toBe(1);
    expect(store.get('a')).toMatchObject({ status: 'queued', attempts: 0 });
    store.claim(1);
    expect(store.retry('a', 0, { at: 0, outcome: 'SKIFF_E_FUNCTION_ERROR' }, true)).toBe(true);
    expect(store.get('a')?.attempts).toBe(1);
    store.claim(1);
    expect(store.finish('a', 'expired', { counted: false })).toBe(true);
    expect(store.get('a')).toMatchObject({ status: 'expired', attempts: 1 });
    // a second terminal transition does nothing
    expect(store.finish('a', 'succeeded', { counted: true })).toBe(false);
  });

  it('counts the bytes waiting, gives them back when final, and drops the request body', () => {
    store.accept(request('a', 10_000));
    store.accept(request('b', 20_000));
    expect(store.queuedBytes).toBe(requestBytes(request('a', 10_000)) + requestBytes(request('b', 20_000)));
    store.claim(2);
    store.finish('a', 'succeeded', {
      counted: true,
      result: { status: 200, headers: [], body: Buffer.from('ok') },
    });
    expect(store.queuedBytes).toBe(requestBytes(request('b', 20_000)));
    expect(store.get('a')?.body.length).toBe(0);
    expect(store.finished.count).toBe(1);
    // the counters survive a reopen
    store.close();
    store = new QueueStore(path.join(dir, 'queue.db'));
    expect(store.queuedBytes).toBe(requestBytes(request('b', 20_000)));
    expect(store.finished.count).toBe(1);
  });

  it('prunes by age, by count and by bytes, oldest first, in batches', () => {
    for (let i = 0; i < 10; i++) {
      store.accept(request(`r${i}`));
      store.claim(1);
      const ok = i % 2 === 0;
      store.finish(
        `r${i}`,
        ok ? 'succeeded' : 'failed',
        { counted: true, ...(ok ? {} : { error: { code: 'SKIFF_E_FUNCTION_ERROR', message: 'x' } }) },
        1000 + i,
      );
    }
    const keep = { succeededBefore: 0, failedBefore: 0, maxRecords: 100, maxBytes: 1e12 };
    expect(store.prune(keep, 100)).toBe(0);
    // succeeded ones finished before 1005: r0, r2, r4
    expect(store.prune({ ...keep, succeededBefore: 1005 }, 2)).toBe(2);
    expect(store.prune({ ...keep, succeededBefore: 1005 }, 2)).toBe(1);
    expect(store.get('r4')).toBeUndefined();
    expect(store.get('r1')).toBeDefined();
    // dead letters before 1004: r1, r3
    expect(store.prune({ ...keep, failedBefore: 1004 }, 100)).toBe(2);
    // 5 left (r5..r9): a cap of 3 deletes the 2 oldest
    expect(store.finished.count).toBe(5);
    expect(store.prune({ ...keep, maxRecords: 3 }, 100)).toBe(2);
    expect(store.get('r6')).toBeUndefined();
    expect(store.get('r7')).toBeDefined();
    // a byte cap below one record's bytes deletes them all
    expect(store.prune({ ...keep, maxBytes: 1 }, 100)).toBe(3);
    expect(store.finished).toEqual({ count: 0, bytes: 0 });
  });

  it('keeps the bytes waiting per function, gives them back when one finishes, and rebuilds them at open', () => {
    store.accept({ ...request('a', 1000), function: 'x' });
    store.accept({ ...request('b', 2000), function: 'x' });
    store.accept({ ...request('c', 500), function: 'y' });
    const x = store.queuedBytesOf('x');
    const y = store.queuedBytesOf('y');
    expect(x).toBe(requestBytes({ ...request('a', 1000), function: 'x' }) + requestBytes(request('b', 2000)));
    expect(x + y).toBe(store.queuedBytes);
    expect(store.queuedBytesOf('z')).toBe(0);
    store.claim(1); // a
    expect(store.finish('a', 'succeeded', { counted: true })).toBe(true);
    expect(store.queuedBytesOf('x')).toBe(requestBytes(request('b', 2000)));
    store.close();
    store = new QueueStore(path.join(dir, 'queue.db'));
    expect(store.queuedBytesOf('x')).toBe(requestBytes(request('b', 2000)));
    expect(store.queuedBytesOf('y')).toBe(y);
  });
});
