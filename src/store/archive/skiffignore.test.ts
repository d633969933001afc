/** What a deploy leaves out: the defaults, node_modules with a package.json, and .skiffignore's rules. */
import { lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractArchive } from './index.js';
import { packablePaths, packDirectory } from './pack.js';
import { deployIgnore } from './skiffignore.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-ignore-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(...rels: string[]): Promise<void> {
  for (const rel of rels) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), 'x');
  }
}

async function packed(symlinks?: 'refuse' | 'skip' | 'follow'): Promise<string[]> {
  const { exclude } = await deployIgnore(dir);
  return packablePaths(dir, { exclude, ...(symlinks === undefined ? {} : { symlinks }) });
}

describe('deployIgnore', () => {
  it('leaves out .git, .venv, __pycache__ and .pyc files by default, at any depth', async () => {
    await files(
      'main.py',
      '.venv/lib/big.so',
      '.git/HEAD',
      'pkg/__pycache__/m.cpython-311.pyc',
      'pkg/m.py',
      'old.pyc',
    );
    expect(await packed()).toEqual(['main.py', 'pkg', 'pkg/m.py']);
  });

  it('leaves out node_modules only when a package.json says what the build installs', async () => {
    await files('index.js', 'node_modules/vendored/index.js');
    expect(await packed()).toContain('node_modules/vendored/index.js');
    await files('package.json');
    expect(await packed()).not.toContain('node_modules');
  });

  it("applies .skiffignore's rules, and a negation takes a default back", async () => {
    await files('index.js', 'data/huge.csv', 'data/keep.csv', 'notes.md', '.venv/keep-me');
    await writeFile(path.join(dir, '.skiffignore'), '# comment\ndata/*.csv\n!data/keep.csv\n*.md\n!.venv/\n');
    expect(await packed()).toEqual([
      '.skiffignore',
      '.venv',
      '.venv/keep-me',
      'data',
      'data/keep.csv',
      'index.js',
    ]);
  });

  it('skips or follows symbolic links when asked, and refuses a loop', async () => {
    await files('index.js', 'real/a.txt');
    await symlink('real', path.join(dir, 'linked'));
    await expect(packed()).rejects.toThrow(/is a symbolic link.*--symlinks follow or skip/);
    expect(await packed('skip')).toEqual(['index.js', 'real', 'real/a.txt']);
    expect(await packed('follow')).toEqual(['index.js', 'linked', 'linked/a.txt', 'real', 'real/a.txt']);
    // what a followed link points at is packed as plain files and folders, which extraction takes
    const stage = await mkdtemp(path.join(os.tmpdir(), 'skiff-ignore-stage-'));
    try {
      await extractArchive(await packDirectory(dir, { symlinks: 'follow' }), stage);
      expect((await lstat(path.join(stage, 'linked', 'a.txt'))).isFile()).toBe(true);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
    await symlink('..', path.join(dir, 'real', 'up'));
    await expect(packed('follow')).rejects.toThrow(/links back to a folder above it/);
  });
});
