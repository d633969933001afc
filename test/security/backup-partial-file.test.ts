/**
 * Red team (issue 21): `skiff backup <file>` streams into `<file>.partial` and renames it. It opened a
 * `.partial` already there as it was: an old one of mode 0644 (or one another user of a shared folder
 * made) gave a backup, admin token and secrets included, readable by every local user, and a symbolic
 * link there sent the backup to wherever it pointed (and left `<file>` a link to it). The CLI now
 * removes what is there and creates the file afresh, owner-only, never through a link.
 */
import { chmodSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';

let root = '';
let platform: TestPlatform;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
  await rm(root, { recursive: true, force: true });
  await rm(platform.dataDir, { recursive: true, force: true });
});

const backup = (file: string) =>
  runCli(['backup', file, '--url', platform.controlUrl], cleanEnv({ SKIFF_TOKEN: platform.token }));

describe('red team: the file skiff backup writes', () => {
  it('is owner-only even when a readable <file>.partial was already there', async () => {
    const file = path.join(root, 'one.tar.gz');
    writeFileSync(`${file}.partial`, 'old');
    chmodSync(`${file}.partial`, 0o644);
    const run = await backup(file);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    // and it is the whole backup
    expect(gunzipSync(readFileSync(file)).includes('skiff-backup.json')).toBe(true);
  });

  it('is never written through a link planted at <file>.partial', async () => {
    const file = path.join(root, 'two.tar.gz');
    const elsewhere = path.join(root, 'elsewhere');
    writeFileSync(elsewhere, 'untouched');
    symlinkSync(elsewhere, `${file}.partial`);
    const run = await backup(file);
    expect(run.code).toBe(0);
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
    const st = lstatSync(file);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(gunzipSync(readFileSync(file)).includes('skiff-backup.json')).toBe(true);
  });
});
