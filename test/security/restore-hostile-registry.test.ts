/**
 * Red team (issue 21): a backup archive is untrusted, and its manifest's sha256 only says that the
 * files are those its author packed. A crafted registry.db named a function `../../victim` with
 * versions hashed `/..`: the platform turns (name, version, hash) into `functions/<name>/v<n>-<hash12>`,
 * so the version's code folder was a host folder, and the start's pruning of old versions removed it
 * (`rm -rf` of any folder the platform's user may delete). The restore now refuses such a registry
 * (and triggers, views, damaged databases), and the platform refuses such rows whatever their origin.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { create, extract } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { restoreBackup } from '../../src/store/backup/restore.js';
import { fixture, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let root = '';
let platform: TestPlatform | undefined;
afterEach(async () => {
  await platform?.stop();
  platform = undefined;
  await rm(root, { recursive: true, force: true });
});

/** `<root>/victim/keep`: a host folder outside the data directory `<root>/data`. */
function makeVictim(): string {
  const victim = path.join(root, 'victim');
  mkdirSync(victim);
  writeFileSync(path.join(victim, 'keep'), 'precious');
  return victim;
}

/** Adds to registry.db a function `../../victim` whose versions' folders resolve to `<root>/victim`. */
function addHostileRows(registryDb: string, versions = 22): void {
  const db = new Database(registryDb);
  const v = db.prepare("SELECT spec, entry, status FROM versions WHERE function = 'hello'").get() as {
    spec: string;
    entry: string;
    status: string;
  };
  const now = new Date().toISOString();
  const name = '../../victim';
  db.prepare(
    'INSERT INTO functions (name, live_version, next_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
  ).run(name, versions, versions + 1, now, now);
  const insert = db.prepare(
    'INSERT INTO versions (function, version, hash, status, spec, entry, build_log, build_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (let i = 1; i <= versions; i++) insert.run(name, i, '/..', v.status, v.spec, v.entry, '', 0, now);
  db.close();
}

/** A platform with `hello` deployed, its backup, and the platform stopped. */
async function backupOfHello(): Promise<{ archive: string; dataDir: string }> {
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  platform = await startPlatform({ dataDir });
  expect((await platform.deploy('hello', fixture('echo-cjs'))).status).toBe(201);
  const res = await platform.api('/v1/backup', { method: 'POST' });
  expect(res.status).toBe(200);
  const archive = path.join(root, 'backup.tar.gz');
  writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
  await platform.stop();
  platform = undefined;
  return { archive, dataDir };
}

/** Unpacks `archive`, lets `edit` change its folder, fixes the manifest's sizes and sums, packs again. */
async function tamper(archive: string, edit: (dir: string) => void): Promise<string> {
  const dir = path.join(root, 'tamper');
  mkdirSync(dir);
  await extract({ file: archive, cwd: dir });
  edit(dir);
  const manifestFile = path.join(dir, 'skiff-backup.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    files: { path: string; size: number; sha256: string }[];
  };
  for (const f of manifest.files) {
    const full = path.join(dir, f.path);
    f.size = statSync(full).size;
    f.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
  }
  writeFileSync(manifestFile, JSON.stringify(manifest));
  const out = path.join(root, 'tampered.tar.gz');
  await create({ gzip: true, cwd: dir, file: out, portable: true }, [
    'skiff-backup.json',
    ...manifest.files.map((f) => f.path),
  ]);
  return out;
}

describe('red team: a restored registry.db cannot point the platform outside its data directory', () => {
  it('refuses a backup whose registry names a function with a path in it', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    const { archive } = await backupOfHello();
    const victim = makeVictim();
    const tampered = await tamper(archive, (dir) => addHostileRows(path.join(dir, 'registry.db')));
    const target = path.join(root, 'restored');
    await expect(restoreBackup(tampered, target)).rejects.toMatchObject({
      code: 'SKIFF_E_BACKUP_INVALID',
      message: expect.stringContaining('../../victim'),
    });
    expect(existsSync(target)).toBe(false);
    expect(readFileSync(path.join(victim, 'keep'), 'utf8')).toBe('precious');
  });

  it('refuses a hash with a path in it, and a trigger that would change rows after the check', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    const { archive } = await backupOfHello();
    const badHash = await tamper(archive, (dir) => {
      const db = new Database(path.join(dir, 'registry.db'));
      db.prepare("UPDATE versions SET hash = '/../../..' WHERE function = 'hello'").run();
      db.close();
    });
    const target = path.join(root, 'restored');
    await expect(restoreBackup(badHash, target)).rejects.toMatchObject({ code: 'SKIFF_E_BACKUP_INVALID' });
    await rm(path.join(root, 'tamper'), { recursive: true });
    const trigger = await tamper(archive, (dir) => {
      const db = new Database(path.join(dir, 'registry.db'));
      db.exec("CREATE TRIGGER t AFTER UPDATE ON functions BEGIN UPDATE versions SET hash = '/../../..'; END");
      db.close();
    });
    await expect(restoreBackup(trigger, target)).rejects.toMatchObject({
      code: 'SKIFF_E_BACKUP_INVALID',
      message: expect.stringContaining('trigger'),
    });
    expect(existsSync(target)).toBe(false);
    // the untouched backup restores
    await restoreBackup(archive, target);
    expect(existsSync(path.join(target, 'registry.db'))).toBe(true);
  });

  it('a start on a registry.db altered by hand never removes a folder outside functions/', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    const { dataDir } = await backupOfHello();
    const victim = makeVictim();
    addHostileRows(path.join(dataDir, 'registry.db'));
    // hello gets versions over the cap too: its pruning, after the hostile function's, shows the start pruned
    const db = new Database(path.join(dataDir, 'registry.db'));
    db.exec(
      "INSERT INTO versions SELECT function, version + n.k, hash, status, spec, entry, build_log, build_ms, created_at FROM versions, (WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 21) SELECT k FROM c) n WHERE function = 'hello'",
    );
    db.close();
    platform = await startPlatform({ dataDir });
    const p = platform;
    await waitFor(
      'the start to prune hello to 20 versions',
      async () => {
        const res = await p.api('/v1/functions/hello');
        const body = (await res.json()) as { function: { versions: unknown[] } };
        return body.function.versions.length === 20 ? true : undefined;
      },
      20_000,
    );
    expect(readFileSync(path.join(victim, 'keep'), 'utf8')).toBe('precious');
  });
});
