import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MountHelper } from './mount-helper.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('MountHelper (root)', () => {
  it('binds a folder read-only through a stage onto its target, and unmounts it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-mount-helper-'));
    const source = path.join(dir, 'source');
    const stage = path.join(dir, 'stage');
    const target = path.join(dir, 'target');
    for (const d of [source, stage, target]) mkdirSync(d);
    writeFileSync(path.join(source, 'index.js'), 'code');
    const helper = MountHelper.start('/usr/bin/python3');
    expect(helper).toBeDefined();
    try {
      await helper?.bind(source, stage, target, false);
      expect(readFileSync(path.join(target, 'index.js'), 'utf8')).toBe('code');
      // read-only, and moved: the stage holds nothing any more
      expect(() => writeFileSync(path.join(target, 'new'), 'x')).toThrow(/EROFS/);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(stage);
      await helper?.umount(target);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target);
      // not mounted (any more) is no error; a missing source is
      await helper?.umount(target);
      await expect(helper?.bind(path.join(dir, 'missing'), stage, target, false)).rejects.toThrow(/bind/);
    } finally {
      helper?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
