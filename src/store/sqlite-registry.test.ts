import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionSpec } from '../model/spec.js';
import { SqliteRegistry } from './sqlite-registry.js';

const dirs: string[] = [];
const tempFile = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
  dirs.push(dir);
  return path.join(dir, 'registry.db');
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const spec: FunctionSpec = {
  name: 'f',
  runtime: 'node',
  handler: null,
  description: '',
  env: {},
  timeoutMs: null,
  command: null,
};
const version = (log: string) =>
  ({ hash: 'h', status: 'failed', spec, entry: '', buildLog: log, buildMs: 1 }) as const;

describe('SqliteRegistry', () => {
  it('gives the pages of deleted versions and functions back to the file system', () => {
    const file = tempFile();
    const registry = new SqliteRegistry(file);
    for (let i = 0; i < 20; i++)
      registry.addVersion('f', registry.nextVersion('f'), version('x'.repeat(200_000)), false);
    const full = statSync(file).size;
    expect(registry.listVersions('f')).toHaveLength(20);
    expect(registry.deleteVersions('f', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(10);
    expect(statSync(file).size).toBeLessThan(full * 0.7);
    expect(registry.deleteFunction('f')).toBe(true);
    expect(statSync(file).size).toBeLessThan(256 * 1024);
    registry.close();
  });

  it('keeps an application id per function until it is rotated or the function is deleted', () => {
    const registry = new SqliteRegistry(tempFile());
    registry.nextVersion('f');
    expect(registry.applicationId('f')).toBeUndefined();
    const id = registry.ensureApplicationId('f');
    expect(registry.ensureApplicationId('f')).toBe(id);
    expect(registry.applicationId('f')).toBe(id);
    const rotated = registry.rotateApplicationId('f');
    expect(rotated).not.toBe(id);
    expect(registry.applicationId('f')).toBe(rotated);
    registry.deleteFunction('f');
    expect(registry.applicationId('f')).toBeUndefined();
    registry.nextVersion('f');
    expect(registry.applicationId('f')).toBeUndefined();
    expect(registry.ensureApplicationId('f')).not.toBe(rotated);
    registry.close();
  });

  it('never deletes the live version', () => {
    const registry = new SqliteRegistry(tempFile());
    const v = registry.nextVersion('f');
    registry.addVersion('f', v, { ...version(''), status: 'ready' }, true);
    expect(registry.deleteVersions('f', [v])).toBe(0);
    expect(registry.getVersion('f', v)).toBeDefined();
    registry.close();
  });

  it('lists the live version of every function that has one, by name, in one query', () => {
    const registry = new SqliteRegistry(tempFile());
    const ready = { ...version('log'), status: 'ready' } as const;
    registry.addVersion('b', registry.nextVersion('b'), ready, true);
    registry.addVersion('b', registry.nextVersion('b'), version('log'), false);
    registry.addVersion('a', registry.nextVersion('a'), ready, true);
    registry.addVersion('none', registry.nextVersion('none'), ready, false);
    const live = registry.liveVersions();
    expect(live.map((v) => [v.function, v.version])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(live[0]).not.toHaveProperty('buildLog');
    registry.close();
  });

  it('lists versions without their build logs', () => {
    const registry = new SqliteRegistry(tempFile());
    registry.addVersion('f', registry.nextVersion('f'), version('the log'), false);
    expect(registry.listVersions('f')[0]).not.toHaveProperty('buildLog');
    expect(registry.getVersion('f', 1)?.buildLog).toBe('the log');
    registry.close();
  });

  it('compacts once at start a file made before auto_vacuum, with much free space', () => {
    const file = tempFile();
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE big (v TEXT)');
    const insert = old.prepare('INSERT INTO big VALUES (?)');
    for (let i = 0; i < 40; i++) insert.run('y'.repeat(100_000));
    old.exec('DELETE FROM big');
    old.pragma('wal_checkpoint(TRUNCATE)');
    old.close();
    const before = statSync(file).size;
    expect(before).toBeGreaterThan(3_000_000);
    const registry = new SqliteRegistry(file);
    expect(statSync(file).size).toBeLessThan(before / 10);
    registry.close();
    const again = new Database(file);
    expect(again.pragma('auto_vacuum', { simple: true })).toBe(2);
    again.close();
  });
});
