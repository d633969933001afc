import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { list } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { foldersBelow, packUpload } from './upload.js';

describe('packUpload', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('leaves out the platform data folder when it lies inside the function folder (its admin token)', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-test-pack-'));
    await writeFile(path.join(dir, 'index.mjs'), 'export default () => "hi";\n');
    await mkdir(path.join(dir, 'state', 'data'), { recursive: true });
    await writeFile(path.join(dir, 'state', 'data', 'admin-token'), 'secret-token');
    await writeFile(path.join(dir, 'state', 'notes.txt'), 'kept');
    const upload = await packUpload({ kind: 'dir', path: dir }, 'refuse', path.join(dir, 'state', 'data'));
    const packed: string[] = [];
    const archive = path.join(os.tmpdir(), `skiff-test-pack-${process.pid}.tgz`);
    await writeFile(archive, upload.body);
    try {
      await list({ file: archive, onReadEntry: (entry) => void packed.push(entry.path) });
    } finally {
      await rm(archive, { force: true });
    }
    expect(packed.some((p) => p.endsWith('index.mjs'))).toBe(true);
    expect(packed.some((p) => p.endsWith('state/notes.txt'))).toBe(true);
    expect(packed.filter((p) => p.includes('admin-token'))).toEqual([]);
  });

  it('names a folder below another, and nothing for one beside or above it', () => {
    expect(foldersBelow('/a/fn', '/a/fn/.data')).toEqual(['.data']);
    expect(foldersBelow('/a/fn', '/a/fn/x/y')).toEqual(['x/y']);
    expect(foldersBelow('/a/fn', '/a/fn')).toEqual([]);
    expect(foldersBelow('/a/fn', '/a/other')).toEqual([]);
    expect(foldersBelow('/a/fn', '/a')).toEqual([]);
  });
});
