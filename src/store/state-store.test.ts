import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_STATE_LIMITS, prefixUpperBound, type StateLimits } from '../model/state.js';
import { SkiffError } from '../shared/errors.js';
import { StateStore } from './state-store.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof SkiffError ? err.code : String(err)),
  );

describe('StateStore', () => {
  let dir: string;
  let file: string;
  let store: StateStore;
  const open = (limits: Partial<StateLimits> = {}) =>
    new StateStore(file, { limits: { ...DEFAULT_STATE_LIMITS, ...limits } });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    file = path.join(dir, 'state.db');
    store = open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets, gets, versions from 1 and deletes, per function', async () => {
    expect(await store.set('a', 'k', json(1), 'application/json')).toEqual({
      ok: true,
      version: 1,
      created: true,
    });
    expect(await store.set('a', 'k', json(2), 'application/json')).toEqual({
      ok: true,
      version: 2,
      created: false,
    });
    await store.set('b', 'k', Buffer.from([0, 255]), 'application/octet-stream');
    const a = await store.get('a', 'k');
    expect(a).toMatchObject({ key: 'k', contentType: 'application/json', version: 2 });
    expect(a?.value.toString()).toBe('2');
    expect((await store.get('b', 'k'))?.value).toEqual(Buffer.from([0, 255]));
    await store.set('b', 'empty', Buffer.alloc(0), 'application/octet-stream');
    expect((await store.get('b', 'empty'))?.value).toEqual(Buffer.alloc(0));
    expect(await store.delete('a', 'k')).toEqual({ ok: true, deleted: true });
    expect(await store.delete('a', 'k')).toEqual({ ok: true, deleted: false });
    expect(await store.get('a', 'k')).toBeUndefined();
    expect(await store.get('b', 'k')).toBeDefined();
  });

  it('compares and sets: ifVersion n only at n, 0 only when absent, and says the current version', async () => {
    expect(await store.set('f', 'k', json(0), 'application/json', { ifVersion: 1 })).toEqual({
      ok: false,
      currentVersion: 0,
    });
    expect(await store.set('f', 'k', json(0), 'application/json', { ifVersion: 0 })).toMatchObject({
      ok: true,
      version: 1,
    });
    expect(await store.set('f', 'k', json(1), 'application/json', { ifVersion: 0 })).toEqual({
      ok: false,
      currentVersion: 1,
    });
    expect(await store.set('f', 'k', json(1), 'application/json', { ifVersion: 2 })).toEqual({
      ok: false,
      currentVersion: 1,
    });
    expect(await store.set('f', 'k', json(1), 'application/json', { ifVersion: 1 })).toMatchObject({
      ok: true,
      version: 2,
    });
    expect(await store.delete('f', 'k', { ifVersion: 1 })).toEqual({ ok: false, currentVersion: 2 });
    expect((await store.get('f', 'k'))?.value.toString()).toBe('1');
    expect(await store.delete('f', 'k', { ifVersion: 2 })).toEqual({ ok: true, deleted: true });
  });

  it('ends 20 concurrent compare-and-set increments at exactly 20, retrying conflicts', async () => {
    await store.set('f', 'counter', json(0), 'application/json');
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = await store.get('f', 'counter');
        const n = JSON.parse(current?.value.toString() ?? '0') as number;
        // another caller may write between the read and the write
        await new Promise((resolve) => setImmediate(resolve));
        const written = await store.set('f', 'counter', json(n + 1), 'application/json', {
          ifVersion: current?.version ?? 0,
        });
        if (written.ok) return;
        conflicts++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    const final = await store.get('f', 'counter');
    expect(JSON.parse(final?.value.toString() ?? '')).toBe(20);
    expect(final?.version).toBe(21);
    // the callers really raced: without compare-and-set, updates would have been lost
    expect(conflicts).toBeGreaterThan(0);
  });

  it('refuses invalid keys and JSON that does not parse', async () => {
    for (const key of ['', '.', '..', 'a\0b', 'line\nbreak', 'x'.repeat(513), '\ud800', 'é'.repeat(257)]) {
      expect(await codeOf(store.set('f', key, json(1), 'application/json')), JSON.stringify(key)).toBe(
        'SKIFF_E_INVALID_STATE_KEY',
      );
    }
    expect(await codeOf(store.get('f', ''))).toBe('SKIFF_E_INVALID_STATE_KEY');
    // 512 bytes, slashes, spaces and any printable Unicode are fine
    for (const key of ['x'.repeat(512), 'a/b c', 'ключ', '🙂']) {
      expect(await store.set('f', key, json(1), 'application/json')).toMatchObject({ ok: true });
    }
    expect(await codeOf(store.set('f', 'k', Buffer.from('{nope'), 'application/json'))).toBe(
      'SKIFF_E_INVALID_REQUEST',
    );
  });

  it('caps the value size (413), a function’s bytes and keys (507), and lets a smaller write through', async () => {
    store.close();
    store = open({ maxValueBytes: 100, maxBytesPerFunction: 250, maxKeysPerFunction: 3 });
    const big = Buffer.alloc(101);
    expect(await codeOf(store.set('f', 'k', big, 'application/octet-stream'))).toBe(
      'SKIFF_E_STATE_TOO_LARGE',
    );
    await store.set('f', 'a', Buffer.alloc(99), 'application/octet-stream'); // 100 bytes with the key
    await store.set('f', 'b', Buffer.alloc(99), 'application/octet-stream'); // 200
    const full = await store
      .set('f', 'c', Buffer.alloc(99), 'application/octet-stream')
      .catch((e: unknown) => e);
    expect(full).toBeInstanceOf(SkiffError);
    expect((full as SkiffError).code).toBe('SKIFF_E_STATE_FULL');
    expect((full as SkiffError).message).toMatch(/delete at least 50 bytes/);
    expect((await store.list('f')).usage).toEqual({ keys: 2, bytes: 200 });
    // an overwrite that fits within the total, and one more small key
    await store.set('f', 'b', Buffer.alloc(49), 'application/octet-stream'); // 150
    await store.set('f', 'c', Buffer.alloc(9), 'application/octet-stream'); // 160
    expect(await codeOf(store.set('f', 'd', Buffer.alloc(1), 'application/octet-stream'))).toBe(
      'SKIFF_E_STATE_FULL',
    );
    // another function has caps of its own
    await store.set('g', 'd', Buffer.alloc(99), 'application/octet-stream');
    await store.delete('f', 'a');
    expect((await store.list('f')).usage).toEqual({ keys: 2, bytes: 60 });
    await store.set('f', 'd', Buffer.alloc(1), 'application/octet-stream');
  });

  it('lists keys in order, a page at a time, by prefix', async () => {
    for (const key of ['user/b', 'user/a', 'users', 'user/c', 'other', 'user/é', 'user0']) {
      await store.set('f', key, Buffer.from(key), 'application/octet-stream');
    }
    const first = await store.list('f', { prefix: 'user/', limit: 2 });
    expect(first.keys.map((k) => k.key)).toEqual(['user/a', 'user/b']);
    expect(first.keys[0]).toMatchObject({ version: 1, size: 6, contentType: 'application/octet-stream' });
    expect(first.next).toBe('user/b');
    const second = await store.list('f', { prefix: 'user/', limit: 2, after: first.next ?? '' });
    expect(second.keys.map((k) => k.key)).toEqual(['user/c', 'user/é']);
    expect(second.next).toBeNull();
    expect((await store.list('f')).keys.map((k) => k.key)).toEqual([
      'other',
      'user/a',
      'user/b',
      'user/c',
      'user/é',
      'user0',
      'users',
    ]);
    expect((await store.list('f')).usage.keys).toBe(7);
    expect((await store.list('nobody')).keys).toEqual([]);
    expect(prefixUpperBound('a')).toBe('b');
    expect(prefixUpperBound('a\u{10ffff}')).toBe('b');
    expect(prefixUpperBound('\ud7ff')).toBe('\ue000');
    expect(prefixUpperBound('')).toBeUndefined();
  });

  it('keeps what was set across a reopen of the file, and deleteAll drops one function’s state', async () => {
    await store.set('f', 'k', json({ n: 1 }), 'application/json');
    await store.set('f', 'k2', Buffer.from('x'), 'application/octet-stream');
    await store.set('g', 'k', json(true), 'application/json');
    store.close();
    store = open();
    expect(await store.get('f', 'k')).toMatchObject({ version: 1, contentType: 'application/json' });
    expect(store.functions()).toEqual(['f', 'g']);
    expect(await store.deleteAll('f')).toBe(2);
    expect(await store.get('f', 'k')).toBeUndefined();
    expect((await store.list('f')).usage).toEqual({ keys: 0, bytes: 0 });
    expect(store.functions()).toEqual(['g']);
    // recreated keys start again at version 1
    expect(await store.set('f', 'k', json(1), 'application/json')).toMatchObject({
      version: 1,
      created: true,
    });
  });

  it('refuses a set when the disk has no room, but not a delete', async () => {
    store.close();
    let room = true;
    store = new StateStore(file, { limits: DEFAULT_STATE_LIMITS, diskRoom: () => room });
    await store.set('f', 'k', json(1), 'application/json');
    room = false;
    expect(await codeOf(store.set('f', 'k', json(2), 'application/json'))).toBe('SKIFF_E_DISK_FULL');
    expect(await store.delete('f', 'k')).toEqual({ ok: true, deleted: true });
  });
});
