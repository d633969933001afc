/**
 * The queue's rows of casts: a first due time later than their acceptance (a delayed cast), their place
 * in the invocation tree (caller, parent, root, depth) and the children of an invocation; and a queue.db
 * of an older release gaining those columns when it is opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHAIN_MEMORY_MS, QueueStore, type AsyncRequest } from './queue-store.js';

const request = (id: string, fields: Partial<AsyncRequest> = {}): AsyncRequest => ({
  id,
  function: 'f',
  trigger: 'cast',
  method: 'POST',
  path: '/',
  query: '',
  headers: [],
  body: Buffer.from('x'),
  host: 'skiff.internal',
  maxRetries: 2,
  expiresAt: Date.now() + 60_000,
  callbackUrl: null,
  ...fields,
});

describe('QueueStore: casts', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    file = path.join(dir, 'queue.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a cast once per key, counts a chain, and charges a cast to its caster, also after a reopen', () => {
    const chain = { caller: 'caster', parentId: 'p', rootId: 'root', depth: 1 };
    let store = new QueueStore(file);
    const first = store.acceptAll([
      request('a', { chain, castKey: 'p#0#f' }),
      request('b', { chain, castKey: 'p#1#f' }),
    ]);
    expect(first).toEqual(['a', 'b']);
    // the parent's retried attempt casts the same again: the rows of the first attempt answer
    expect(store.acceptAll([request('c', { chain, castKey: 'p#0#f' }), request('d', { chain })])).toEqual([
      'a',
      'd',
    ]);
    expect(store.chainSize('root', 100)).toBe(3);
    expect(store.chainSize('root', 2)).toBe(2);
    // the casts take the caster's share of the queue, not their target's
    expect(store.queuedBytesOf('f')).toBe(0);
    const caster = store.queuedBytesOf('caster');
    expect(caster).toBeGreaterThan(0);
    store.close();
    store = new QueueStore(file);
    expect(store.queuedBytesOf('caster')).toBe(caster);
    expect(store.queuedBytesOf('f')).toBe(0);
    store.close();
  });

  it('claims no more than perFunction rows of one function running at once: a backlog leaves room', () => {
    const now = 1_000_000;
    const store = new QueueStore(file);
    for (let i = 0; i < 10; i++) store.accept(request(`busy-${i}`, { function: 'busy' }), now + i);
    store.accept(request('other-0', { function: 'other' }), now + 20);
    const first = store.claim(3, now + 100, 2).map((r) => r.id);
    expect(first).toEqual(['busy-0', 'busy-1', 'other-0']);
    // busy has 2 running, its cap: nothing more of it until one ends
    expect(store.claim(3, now + 100, 2)).toEqual([]);
    expect(store.claim(3, now + 100).map((r) => r.id)).toEqual(['busy-2', 'busy-3', 'busy-4']);
    store.close();
  });

  it('keeps chain counts apart from the records, for a while and up to the record cap', () => {
    const now = 1_000_000_000;
    const store = new QueueStore(file);
    for (let i = 0; i < 5; i++) {
      const chain = { caller: 'c', parentId: `root-${i}`, rootId: `root-${i}`, depth: 1 };
      store.acceptAll([request(`cast-${i}`, { chain })], now + i);
    }
    const keep = { succeededBefore: 0, failedBefore: 0, maxRecords: 3, maxBytes: Number.MAX_SAFE_INTEGER };
    store.prune(keep, 100, now + 10);
    // over the cap of 3: the two oldest chains are forgotten, the newest kept
    expect([0, 1, 2, 3, 4].map((i) => store.chainSize(`root-${i}`, 10))).toEqual([0, 0, 1, 1, 1]);
    store.prune({ ...keep, maxRecords: 100 }, 100, now + CHAIN_MEMORY_MS + 10);
    expect(store.chainSize('root-4', 10)).toBe(0);
    store.close();
  });

  it('claims a row no earlier than its first due time, also when opened again', () => {
    const now = 1_000_000;
    let store = new QueueStore(file);
    store.accept(request('later', { nextAt: now + 5_000 }), now);
    store.accept(request('soon'), now);
    expect(store.claim(10, now).map((r) => r.id)).toEqual(['soon']);
    expect(store.nextDue()).toBe(now + 5_000);
    store.close();
    store = new QueueStore(file);
    expect(store.claim(10, now + 4_999)).toEqual([]);
    expect(store.claim(10, now + 5_000).map((r) => r.id)).toEqual(['later']);
    store.close();
  });

  it('keeps the chain of a cast and lists the children of an invocation, oldest first', () => {
    const store = new QueueStore(file);
    const chain = (parentId: string) => ({ caller: 'p', parentId, rootId: 'root', depth: 2 });
    store.accept(request('c1', { chain: chain('parent') }), 1);
    store.accept(request('c2', { chain: chain('parent') }), 2);
    store.accept(request('other', { chain: chain('elsewhere') }), 3);
    store.accept(request('plain', { trigger: 'async' }), 4);
    expect(store.get('c1')?.chain).toEqual(chain('parent'));
    expect(store.get('plain')?.chain).toBeNull();
    expect(store.children('parent', 10)).toEqual(['c1', 'c2']);
    expect(store.children('parent', 1)).toEqual(['c1']);
    expect(store.children('plain', 10)).toEqual([]);
    store.close();
  });

  it('adds the chain columns to a queue.db of an older release', () => {
    const old = new Database(file);
    old.exec(`CREATE TABLE invocations (
      id TEXT PRIMARY KEY, function TEXT NOT NULL, trigger TEXT NOT NULL DEFAULT 'async', status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, max_retries INTEGER NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
      query TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, host TEXT NOT NULL, callback_url TEXT,
      created_at INTEGER NOT NULL, next_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, finished_at INTEGER,
      result_status INTEGER, result_headers TEXT, result_body BLOB, error_code TEXT, error_message TEXT,
      history TEXT NOT NULL DEFAULT '[]', callback_status INTEGER)`);
    old
      .prepare(
        `INSERT INTO invocations (id, function, status, max_retries, method, path, query, headers, body, host,
           created_at, next_at, expires_at) VALUES ('a', 'f', 'queued', 2, 'POST', '/', '', '[]', x'00', 'h', 1, 1, 9e12)`,
      )
      .run();
    old.close();
    const store = new QueueStore(file);
    expect(store.get('a')).toMatchObject({ id: 'a', chain: null });
    store.accept(request('b', { chain: { caller: 'f', parentId: 'a', rootId: 'a', depth: 1 } }));
    expect(store.children('a', 10)).toEqual(['b']);
    store.close();
  });
});
