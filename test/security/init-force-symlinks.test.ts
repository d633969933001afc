/**
 * Red team, `skiff init --force`: a folder that is not empty (a cloned repository, say) may hold
 * symbolic links named like the template's files. `--force` replaces files of the same name; it
 * must replace the link, not write through it: `fn.sh -> ~/.bashrc` overwrote (and chmod +x'd) the
 * file outside the folder.
 */
import { lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { makeDataDir, removeDir } from '../helpers/platform.js';

describe('skiff init --force and symbolic links in the folder', () => {
  let work: string;
  beforeAll(async () => {
    work = await makeDataDir();
  });
  afterAll(async () => {
    await removeDir(work);
  });

  it('replaces a link named like a template file instead of writing through it', async () => {
    const outside = path.join(work, 'outside.txt');
    await writeFile(outside, 'precious\n', { mode: 0o600 });
    const dir = path.join(work, 'cloned');
    await mkdir(dir);
    await symlink(outside, path.join(dir, 'fn.sh'));
    await symlink(outside, path.join(dir, 'README.md'));
    const r = await runCli(['init', dir, '--runtime', 'shell', '--name', 'demo', '--force'], cleanEnv({}));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await readFile(outside, 'utf8')).toBe('precious\n');
    expect((await stat(outside)).mode & 0o777).toBe(0o600);
    const made = await lstat(path.join(dir, 'fn.sh'));
    expect(made.isFile()).toBe(true);
    expect(made.mode & 0o111).not.toBe(0);
    expect((await lstat(path.join(dir, 'README.md'))).isFile()).toBe(true);
  }, 60_000);

  it('still follows a folder given as a link (the user chose it)', async () => {
    // a link to a folder is the user's choice of folder (like `cd`): followed, as before
    const real = path.join(work, 'real');
    await mkdir(real);
    const link = path.join(work, 'link');
    await symlink(real, link);
    const r = await runCli(['init', link, '--runtime', 'node', '--name', 'demo'], cleanEnv({}));
    expect(r.code).toBe(0);
    expect((await lstat(path.join(real, 'index.mjs'))).isFile()).toBe(true);
  }, 60_000);
});
