/**
 * Red team (issue 21): the restore checked every file of an archive against its manifest, but not its
 * folders. An archive with an extra empty `backups/` folder passed, and with --force its rename onto
 * the data directory's own `backups/` (kept in place) failed half-way: what was there had already
 * moved to backups/replaced-<time>/, a few restored files were in place, the rest was deleted with
 * the staging folder: a data directory without registry.db. Folders no listed file is in are now
 * refused, and a failed move is undone.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { create, extract } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { writeBackup } from '../../src/store/backup/create.js';
import { restoreBackup } from '../../src/store/backup/restore.js';
import { TMP_PREFIX } from '../helpers/platform.js';

let root = '';
afterEach(() => rm(root, { recursive: true, force: true }));

async function backupOf(dataDir: string): Promise<string> {
  const archive = path.join(root, 'backup.tar.gz');
  await writeBackup(dataDir, createWriteStream(archive));
  return archive;
}

describe('red team: folders of a backup archive that its manifest does not account for', () => {
  it('refuses an empty backups/ folder instead of leaving a half-restored data directory', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    const source = path.join(root, 'source');
    mkdirSync(source);
    writeFileSync(path.join(source, 'admin-token'), 'token-of-the-backup\n');
    const db = new Database(path.join(source, 'registry.db'));
    db.exec('CREATE TABLE t (x)');
    db.close();
    const archive = await backupOf(source);

    // a data directory restored from it, with a pre-migration backup of its own
    const target = path.join(root, 'data');
    await restoreBackup(archive, target);
    mkdirSync(path.join(target, 'backups', 'pre-migrate-0-2-x'), { recursive: true });
    const before = readdirSync(target).sort();

    const dir = path.join(root, 'tamper');
    mkdirSync(dir);
    await extract({ file: archive, cwd: dir });
    mkdirSync(path.join(dir, 'backups', 'zzz'), { recursive: true });
    const tampered = path.join(root, 'tampered.tar.gz');
    await create({ gzip: true, cwd: dir, file: tampered, portable: true }, readdirSync(dir));

    await expect(restoreBackup(tampered, target, { force: true })).rejects.toMatchObject({
      code: 'SKIFF_E_BACKUP_INVALID',
      message: expect.stringContaining('backups'),
    });
    // the data directory is as it was: nothing replaced, nothing lost
    expect(readdirSync(target).sort()).toEqual(before);
    expect(readdirSync(path.join(target, 'backups'))).toEqual(['pre-migrate-0-2-x']);
    expect(readFileSync(path.join(target, 'admin-token'), 'utf8')).toBe('token-of-the-backup\n');
    expect(existsSync(path.join(target, 'registry.db'))).toBe(true);
  });
});
