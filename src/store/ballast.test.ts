import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reportDiskFull } from '../shared/disk.js';
import { createLogger } from '../shared/logger.js';
import { Ballast, BALLAST_FILE } from './ballast.js';

describe('Ballast', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is written while there is room, deleted on a disk-full report, and written again', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    dirs.push(dir);
    const ballast = new Ballast(dir, 256 * 1024, createLogger('silent'));
    try {
      ballast.ensure();
      expect(statSync(path.join(dir, BALLAST_FILE)).size).toBe(256 * 1024);
      reportDiskFull(Object.assign(new Error('full'), { code: 'ENOSPC' }));
      expect(existsSync(path.join(dir, BALLAST_FILE))).toBe(false);
      ballast.ensure();
      expect(ballast.present).toBe(true);
    } finally {
      ballast.close();
    }
  });

  it('has no room for a write that would eat into the reserve', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
    dirs.push(dir);
    const ballast = new Ballast(dir, 0, createLogger('silent'), 1024);
    try {
      const free = ballast.freeBytes();
      expect(ballast.hasRoom(1)).toBe(true);
      expect(ballast.hasRoom(free)).toBe(false);
      ballast.ensure();
      expect(existsSync(path.join(dir, BALLAST_FILE))).toBe(false);
    } finally {
      ballast.close();
    }
  });
});
