/**
 * Red team (issue 21): a tenant could make every backup of the platform unrestorable. A deploy accepts
 * files 64 folders deep in the function's code; the backup holds them under
 * `functions/<name>/<version>/`, three deeper, and the restore refused any path over 64 deep: the
 * whole restore failed with SKIFF_E_ARCHIVE_UNSAFE, found out only on the day it was needed. A build
 * (pip install of a tenant's requirements) can also write file names the restore refuses (a
 * backslash). The backup and the restore now agree: paths up to 128 deep go both ways, and a code
 * file the restore would refuse is left out of the backup (listed under `skipped`), never the backup.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src/store/backup/restore.js';
import { startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';

let root = '';
let platform: TestPlatform | undefined;
afterEach(async () => {
  await platform?.stop();
  if (platform !== undefined) await rm(platform.dataDir, { recursive: true, force: true });
  platform = undefined;
  await rm(root, { recursive: true, force: true });
});

describe('red team: a tenant cannot make the backups unrestorable', () => {
  it('restores a function with code 63 folders deep, and leaves out a file name no restore takes', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    const src = path.join(root, 'deep');
    const deep = path.join(src, ...Array.from({ length: 62 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'f.txt'), 'deep down');
    writeFileSync(path.join(src, 'index.js'), 'module.exports = async () => ({ ok: true });\n');
    platform = await startPlatform();
    const res = await platform.deploy('deep', src);
    expect(res.status).toBe(201);
    const [folder = ''] = readdirSync(path.join(platform.dataDir, 'functions', 'deep'));
    // what a build could write into the version's folder (a package's file named with a backslash)
    const versionDir = path.join(platform.dataDir, 'functions', 'deep', folder);
    writeFileSync(path.join(versionDir, 'odd\\name.py'), '# from a wheel');

    const backup = await platform.api('/v1/backup', { method: 'POST' });
    expect(backup.status).toBe(200);
    const archive = path.join(root, 'backup.tar.gz');
    writeFileSync(archive, Buffer.from(await backup.arrayBuffer()));

    const target = path.join(root, 'restored');
    const restored = await restoreBackup(archive, target);
    expect(restored.manifest.skipped).toEqual([`functions/deep/${folder}/odd\\name.py`]);
    const rel = path.relative(platform.dataDir, path.join(versionDir, ...Array(62).fill('d'), 'f.txt'));
    expect(readFileSync(path.join(target, rel), 'utf8')).toBe('deep down');
  });
});
