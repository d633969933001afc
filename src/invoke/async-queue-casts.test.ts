/**
 * The async queue with casts (a real queue.db in a temp dir, a fake `invoke`): a delayed cast's due time
 * and expiry, and the Invocation a cast's run gets (trigger `cast`, its place in the invocation tree).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.js';
import { QueueStore } from '../store/queue-store.js';
import type { Invocation, Result } from '../model/invocation.js';
import { AsyncQueue, type NewAsync } from './async-queue.js';
import { waitFor } from '../../test/helpers/wait.js';

const SETTINGS = {
  retries: 0,
  retryBaseMs: 10,
  maxEventAgeMs: 60_000,
  concurrency: 4,
  maxBodyBytes: 1024,
  maxQueuedBytes: 1024 * 1024,
};

const cast = (fields: Partial<NewAsync> = {}): NewAsync => ({
  function: 'audit',
  trigger: 'cast',
  method: 'POST',
  path: '/',
  query: '',
  headers: [],
  body: Buffer.from('x'),
  host: 'skiff.internal',
  callbackUrl: null,
  ...fields,
});

describe('AsyncQueue: casts', () => {
  let dir: string;
  let store: QueueStore;
  let queue: AsyncQueue;
  const runs: Invocation[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    store = new QueueStore(path.join(dir, 'queue.db'));
    runs.length = 0;
    queue = new AsyncQueue({
      store,
      settings: SETTINGS,
      logger: createLogger('silent'),
      invoke: (inv): Promise<Result> => {
        runs.push(inv);
        return Promise.resolve({ status: 200, headers: [], body: Buffer.from('ok') });
      },
    });
    queue.start();
  });

  afterEach(async () => {
    await queue.stop(1000);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a delayed cast until it is due, and counts its maximum age from then', async () => {
    const before = Date.now();
    const id = queue.accept(cast({ delayMs: 60_000 }));
    const record = store.get(id);
    expect(record?.nextAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(record?.expiresAt).toBe((record?.nextAt ?? 0) + SETTINGS.maxEventAgeMs);
    expect(store.claim(10)).toEqual([]);
    expect(runs).toEqual([]);
  });

  it('runs a cast as trigger `cast` with its caller, parent, root and depth', async () => {
    const chain = { caller: 'checkout', parentId: 'p-1', rootId: 'r-1', depth: 2 };
    const id = queue.accept(cast({ chain }));
    const run = await waitFor('the cast to run', () => runs[0]);
    expect(run).toMatchObject({ id, function: 'audit', trigger: 'cast', ...chain });
    await waitFor('its record to be final', () => (store.get(id)?.status === 'succeeded' ? true : undefined));
  });

  it('runs an async call without a chain as before', async () => {
    queue.accept(cast({ trigger: 'async' }));
    const run = await waitFor('the call to run', () => runs[0]);
    expect(run.trigger).toBe('async');
    expect(run).not.toHaveProperty('parentId');
    expect(run).not.toHaveProperty('depth');
  });
});
