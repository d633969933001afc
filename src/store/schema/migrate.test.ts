import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { migrateDataDir } from './migrate.js';
import type { Step } from './step.js';
import { readSchema } from './version.js';

const logger = createLogger('silent');
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function dataDir(schema?: number): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-migrate-'));
  const db = new Database(path.join(dir, 'queue.db'));
  db.exec('CREATE TABLE invocations (id TEXT PRIMARY KEY)');
  db.close();
  new Database(path.join(dir, 'registry.db')).close();
  if (schema !== undefined) writeFileSync(path.join(dir, 'VERSION.json'), JSON.stringify({ schema }));
  return dir;
}

const columns = (file: string): string[] => {
  const db = new Database(path.join(dir, file));
  const names = (db.pragma('table_info(invocations)') as { name: string }[]).map((c) => c.name);
  db.close();
  return names;
};

describe('migrateDataDir', () => {
  it('runs only the steps after the recorded version, in order, and records each', async () => {
    const ran: number[] = [];
    const steps: Step[] = [
      () => ran.push(1),
      (db) => {
        ran.push(2);
        db.addColumn('queue.db', 'invocations', 'trace_id', 'TEXT');
      },
      (db) => {
        ran.push(3);
        db.addColumn('queue.db', 'invocations', 'trace_id', 'TEXT'); // again: a no-op
        db.addColumn('absent.db', 'invocations', 'x', 'TEXT'); // a database the dir lacks: skipped
      },
    ];
    const result = await migrateDataDir(dataDir(1), logger, steps);
    expect(ran).toEqual([2, 3]);
    expect(result).toMatchObject({ from: 1, to: 3 });
    expect(readSchema(dir)).toBe(3);
    expect(columns('queue.db')).toEqual(['id', 'trace_id']);
    // the backup holds the databases as they were
    const backup = result.backup ?? '';
    expect(path.basename(backup)).toMatch(/^pre-migrate-1-3-/);
    expect(readdirSync(backup).sort()).toEqual(['queue.db', 'registry.db']);
    const copy = new Database(path.join(backup, 'queue.db'), { readonly: true });
    expect((copy.pragma('table_info(invocations)') as unknown[]).length).toBe(1);
    copy.close();
    // a second start has nothing to do
    expect(await migrateDataDir(dir, logger, steps)).toEqual({ from: 3, to: 3 });
    expect(ran).toEqual([2, 3]);
  });

  it('stops at a failing step, keeping the version of the last one that succeeded', async () => {
    const steps: Step[] = [
      () => undefined,
      () => {
        throw new Error('boom');
      },
    ];
    await expect(migrateDataDir(dataDir(0), logger, steps)).rejects.toMatchObject({
      code: 'SKIFF_E_DATA_DIR_INVALID',
      message: expect.stringContaining('step 1 → 2 failed (boom)'),
    });
    expect(readSchema(dir)).toBe(1);
  });

  it('stamps a fresh data directory with the newest version, runs nothing', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-migrate-'));
    const steps: Step[] = [
      () => {
        throw new Error('not for a fresh one');
      },
    ];
    expect(await migrateDataDir(dir, logger, steps)).toEqual({ from: undefined, to: 1 });
    expect(JSON.parse(readFileSync(path.join(dir, 'VERSION.json'), 'utf8'))).toMatchObject({ schema: 1 });
  });

  it('refuses an unreadable VERSION.json and a newer schema, writing nothing', async () => {
    writeFileSync(path.join(dataDir(), 'VERSION.json'), '{"schema":"two"}');
    await expect(migrateDataDir(dir, logger, [])).rejects.toMatchObject({ code: 'SKIFF_E_DATA_DIR_INVALID' });
    writeFileSync(path.join(dir, 'VERSION.json'), '{"schema":2}');
    await expect(migrateDataDir(dir, logger, [() => undefined])).rejects.toMatchObject({
      code: 'SKIFF_E_DATA_DIR_TOO_NEW',
    });
    expect(readdirSync(dir).sort()).toEqual(['VERSION.json', 'queue.db', 'registry.db']);
  });
});
