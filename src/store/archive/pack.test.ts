import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import { defaultPackExclude, extractArchive, packDirectory } from './index.js';

let root: string;
let src: string;
let stage: string;

beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'skiff-pack-'));
  src = path.join(root, 'fn');
  stage = path.join(root, 'stage');
  await fsp.mkdir(src);
  await fsp.mkdir(stage);
});

afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

interface TreeEntry {
  path: string;
  kind: 'file' | 'dir';
  mode: number;
  sha?: string;
}

/** The tree below `dir`: kinds, permission bits and file contents (as hex of the bytes' hash). */
async function tree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const dirent of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const full = path.join(dir, childRel);
      const mode = (await fsp.lstat(full)).mode & 0o777;
      if (dirent.isDirectory()) {
        out.push({ path: childRel, kind: 'dir', mode });
        await walk(childRel);
      } else {
        const sha = createHash('sha256')
          .update(await fsp.readFile(full))
          .digest('hex');
        out.push({ path: childRel, kind: 'file', mode, sha });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function listEntries(archive: Buffer): Promise<{ path: string; type: string }[]> {
  const entries: { path: string; type: string }[] = [];
  await pipeline(
    Readable.from([archive]),
    tar.t({ onReadEntry: (entry) => entries.push({ path: entry.path, type: entry.type }) }),
  );
  return entries;
}

async function rejection(promise: Promise<unknown>): Promise<SkiffError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('expected packing to fail');
}

describe('packDirectory', () => {
  it('round-trips a folder through extractArchive with identical bytes and modes', async () => {
    await fsp.mkdir(path.join(src, 'lib', 'deep', 'er'), { recursive: true });
    await fsp.mkdir(path.join(src, 'empty'));
    await fsp.writeFile(path.join(src, 'index.js'), 'export const handler = async () => ({ ok: true });\n');
    await fsp.writeFile(path.join(src, 'lib', 'deep', 'er', 'blob.bin'), randomBytes(1024 * 1024 + 17));
    await fsp.writeFile(path.join(src, 'lib', 'util.js'), 'export const x = 1;\n');
    await fsp.writeFile(path.join(src, 'lib', 'zero-length'), '');
    await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
    await fsp.chmod(path.join(src, 'run.sh'), 0o755);
    await fsp.writeFile(path.join(src, 'skiff.json'), '{"runtime":"node"}\n');
    // Long and non-ASCII names make tar write pax headers, which the extractor must accept.
    const longDir = path.join(
      src,
      'a-folder-name-that-is-rather-long'.repeat(2),
      'and-another-one-to-pass-100-chars',
    );
    await fsp.mkdir(longDir, { recursive: true });
    await fsp.writeFile(path.join(longDir, 'données-😀.txt'), 'unicode');

    const archive = await packDirectory(src);
    expect(archive.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
    const result = await extractArchive(archive, stage);

    expect(await tree(stage)).toEqual(await tree(src));
    expect(result.files).toBe(7);
    const sizes = await Promise.all(
      ['index.js', 'lib/deep/er/blob.bin', 'lib/util.js', 'lib/zero-length', 'run.sh', 'skiff.json'].map(
        async (file) => (await fsp.stat(path.join(src, file))).size,
      ),
    );
    expect(result.bytes).toBe(sizes.reduce((a, b) => a + b, 'unicode'.length));
    expect((await fsp.stat(path.join(stage, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await fsp.stat(path.join(stage, 'index.js'))).mode & 0o777).toBe(0o644);
  });

  it('writes relative entry paths, folders before their contents, in a stable order', async () => {
    await fsp.mkdir(path.join(src, 'b'));
    await fsp.writeFile(path.join(src, 'b', 'z.txt'), 'z');
    await fsp.writeFile(path.join(src, 'a.txt'), 'a');
    const entries = await listEntries(await packDirectory(src));
    expect(entries).toEqual([
      { path: 'a.txt', type: 'File' },
      { path: 'b/', type: 'Directory' },
      { path: 'b/z.txt', type: 'File' },
    ]);
  });

  it('leaves out node_modules, .git and .skiff at any depth by default', async () => {
    for (const dir of [
      'node_modules/pkg',
      '.git/objects',
      '.skiff',
      'lib/node_modules/x',
      'lib/.git',
      'lib/.skiff',
    ]) {
      await fsp.mkdir(path.join(src, dir), { recursive: true });
      await fsp.writeFile(path.join(src, dir, 'f.txt'), 'excluded');
    }
    await fsp.writeFile(path.join(src, 'lib', 'keep.js'), 'kept');
    await fsp.writeFile(path.join(src, '.gitignore'), 'kept');
    // Symlinks inside excluded folders are never looked at.
    await fsp.symlink('/etc/passwd', path.join(src, 'node_modules', 'pkg', 'link'));

    await extractArchive(await packDirectory(src), stage);

    expect((await tree(stage)).map((entry) => entry.path)).toEqual(['.gitignore', 'lib', 'lib/keep.js']);
  });

  it('takes a custom exclude in place of the default, and it can extend the default', async () => {
    await fsp.mkdir(path.join(src, 'node_modules'));
    await fsp.writeFile(path.join(src, 'node_modules', 'dep.js'), 'dep');
    await fsp.writeFile(path.join(src, 'index.js'), 'code');
    await fsp.writeFile(path.join(src, 'notes.md'), 'notes');

    const onlyMarkdown = await packDirectory(src, { exclude: (rel) => rel.endsWith('.md') });
    await extractArchive(onlyMarkdown, stage);
    expect((await tree(stage)).map((entry) => entry.path)).toEqual([
      'index.js',
      'node_modules',
      'node_modules/dep.js',
    ]);

    const stage2 = path.join(root, 'stage2');
    await fsp.mkdir(stage2);
    const both = await packDirectory(src, {
      exclude: (rel) => defaultPackExclude(rel) || rel.endsWith('.md'),
    });
    await extractArchive(both, stage2);
    expect((await tree(stage2)).map((entry) => entry.path)).toEqual(['index.js']);
  });

  it('refuses a symlink in the folder, naming it', async () => {
    await fsp.mkdir(path.join(src, 'lib'));
    await fsp.writeFile(path.join(src, 'index.js'), 'code');
    await fsp.symlink('../index.js', path.join(src, 'lib', 'alias.js'));
    const err = await rejection(packDirectory(src));
    expect(err.code).toBe('SKIFF_E_INVALID_REQUEST');
    expect(err.message).toContain(path.join(src, 'lib', 'alias.js'));
    expect(err.message).toMatch(/symbolic link/);
  });

  it('refuses a symlink to a folder rather than following it', async () => {
    await fsp.mkdir(path.join(root, 'outside'));
    await fsp.writeFile(path.join(root, 'outside', 'secret.txt'), 'secret');
    await fsp.symlink(path.join(root, 'outside'), path.join(src, 'shared'));
    const err = await rejection(packDirectory(src));
    expect(err.code).toBe('SKIFF_E_INVALID_REQUEST');
    expect(err.message).toContain('shared');
  });

  const hasMkfifo = (() => {
    try {
      execFileSync('which', ['mkfifo'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasMkfifo)('refuses a FIFO in the folder', async () => {
    execFileSync('mkfifo', [path.join(src, 'pipe')]);
    const err = await rejection(packDirectory(src));
    expect(err.code).toBe('SKIFF_E_INVALID_REQUEST');
    expect(err.message).toContain('pipe');
  });

  it('packs each name of a hard-linked file as a file of its own, which extracts', async () => {
    await fsp.mkdir(path.join(src, 'lib'));
    await fsp.writeFile(path.join(src, 'a.txt'), 'shared bytes');
    await fsp.link(path.join(src, 'a.txt'), path.join(src, 'lib', 'b.txt'));
    await fsp.link(path.join(src, 'a.txt'), path.join(src, 'z.txt'));
    const archive = await packDirectory(src);
    expect(await extractArchive(archive, stage)).toEqual({ files: 3, bytes: 36 });
    for (const name of ['a.txt', 'lib/b.txt', 'z.txt']) {
      expect(await fsp.readFile(path.join(stage, name), 'utf8')).toBe('shared bytes');
    }
  });

  it('packs an empty folder into an archive that extracts to nothing', async () => {
    const archive = await packDirectory(src);
    expect(await extractArchive(archive, stage)).toEqual({ files: 0, bytes: 0 });
    expect(await fsp.readdir(stage)).toEqual([]);
  });

  it('refuses a path that is not a folder', async () => {
    await fsp.writeFile(path.join(root, 'file.txt'), 'x');
    expect((await rejection(packDirectory(path.join(root, 'file.txt')))).code).toBe(
      'SKIFF_E_INVALID_REQUEST',
    );
    expect((await rejection(packDirectory(path.join(root, 'missing')))).code).toBe('SKIFF_E_INVALID_REQUEST');
  });
});
