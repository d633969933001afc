/**
 * Backups (docs/operations.md): `skiff backup` of a running platform while calls are in
 * flight, `skiff restore` into a fresh data directory, and a platform started on it serves every
 * function with its versions, secrets, state, workflow and queued call. Hostile or damaged archives
 * are refused with stable codes, and nothing is written outside the target.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { create, extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawTar, tarGz } from './helpers/archives.js';
import { cleanEnv, runCli } from './helpers/cli.js';
import { expectFixtureServed, queuedDueNow } from './helpers/datadir-fixture.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { TMP_PREFIX } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';

const FUNCTIONS = path.resolve(import.meta.dirname, 'fixtures', 'datadir-functions');
const started: ServeProcess[] = [];
const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const s of started) {
    s.child.kill('SIGKILL');
    await exited(s.child);
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function api(serve: ServeProcess, method: string, p: string, body?: string, type = 'application/json') {
  const res = await fetch(`${serve.control}${p}`, {
    method,
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': type },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  expect(res.status, `${method} ${p}: ${text}`).toBeLessThan(300);
  return text;
}

const cli = (args: string[]) => runCli(args, cleanEnv({}));

describe('skiff backup and skiff restore', () => {
  let origin: ServeProcess;
  let queuedId = '';
  let data = '';
  let archive = '';

  beforeAll(async () => {
    // the data directory is a temp folder of its own (as `skiff serve` is run on one)
    data = tmp();
    archive = path.join(tmp(), 'backup.tar.gz');
    origin = await spawnServe(data, { args: ['--log-level', 'warn'] });
    started.push(origin);
    for (const fn of ['fx-node', 'fx-sink', 'fx-py-v1', 'fx-py-v2', 'fx-sh']) {
      const deployed = await deployTo(origin, fn.replace(/-v\d$/, ''), path.join(FUNCTIONS, fn));
      expect(deployed.status, deployed.text).toBeLessThan(300);
    }
    await api(
      origin,
      'PUT',
      '/v1/functions/fx-node/secrets/FX_SECRET',
      JSON.stringify({ value: 'kept-secret' }),
    );
    await api(origin, 'PUT', '/v1/functions/fx-node/state/note', JSON.stringify({ kept: true }));
    await api(origin, 'PUT', '/v1/functions/fx-sink/state/bytes', 'raw bytes', 'application/octet-stream');
    await api(
      origin,
      'PUT',
      '/v1/workflows/fx-flow',
      readFileSync(path.join(FUNCTIONS, 'fx-flow.json'), 'utf8'),
    );
    // a cast due in an hour: queued when the backup is made
    const cast = await fetch(`${origin.http}/fx-node/cast?ms=3600000`, {
      method: 'POST',
      body: 'queued-in-v0',
    });
    queuedId = ((await cast.json()) as { id: string }).id;
  }, 120_000);

  it('backs up a running platform while calls are in flight, and restores into a fresh data directory that serves it all', async () => {
    // calls in flight while the backup is made: synchronous ones and queued (async) ones
    let stop = false;
    const calls: Promise<number[]>[] = [];
    for (let worker = 0; worker < 4; worker++) {
      calls.push(
        (async () => {
          const statuses: number[] = [];
          for (let i = 0; i < 200 && !stop; i++) {
            const res = await fetch(`${origin.http}/${worker % 2 === 0 ? 'fx-py' : 'fx-node'}`, {
              method: 'POST',
              headers: i % 3 === 0 ? { 'x-skiff-async': 'true' } : {},
              body: `call ${worker}-${i}`,
            });
            await res.arrayBuffer();
            statuses.push(res.status);
          }
          return statuses;
        })(),
      );
    }
    const made = await cli(['--data-dir', data, 'backup', archive, '--json']);
    stop = true;
    const statuses = (await Promise.all(calls)).flat();
    expect(made.code, made.stderr).toBe(0);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
    const summary = JSON.parse(made.stdout) as { file: string; bytes: number; files: number; schema: number };
    expect(summary.file).toBe(archive);
    expect(summary.files).toBeGreaterThanOrEqual(14);
    // the work folder of the backup goes once the answer is sent
    await waitUntil(
      'the backup work folder to go',
      () => readdirSync(path.join(data, 'backups')).length === 0,
    );

    const target = path.join(tmp(), 'restored');
    const restored = await cli(['--data-dir', target, 'restore', archive, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      dataDir: target,
      schema: summary.schema,
      replaced: null,
    });
    // a second restore into it is refused without --force
    const again = await cli(['--data-dir', target, 'restore', archive, '--json']);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toContain('SKIFF_E_RESTORE_NOT_EMPTY');

    queuedDueNow(target);
    const copy = await spawnServe(target, { args: ['--log-level', 'warn'] });
    started.push(copy);
    expect(copy.token).toBe(origin.token);
    await expectFixtureServed(copy, [queuedId]);
    copy.child.kill('SIGTERM');
    await exited(copy.child);
  }, 120_000);

  it('restores over a stopped data directory only with --force, keeping what was there', async () => {
    const target = path.join(tmp(), 'data');
    await cli(['--data-dir', target, 'restore', archive]);
    writeFileSync(path.join(target, 'old-file'), 'old');
    const forced = await cli(['--data-dir', target, 'restore', archive, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    const replaced = (JSON.parse(forced.stdout) as { replaced: string }).replaced;
    expect(replaced.startsWith(path.join(target, 'backups', 'replaced-'))).toBe(true);
    expect(readFileSync(path.join(replaced, 'old-file'), 'utf8')).toBe('old');
    expect(existsSync(path.join(target, 'old-file'))).toBe(false);
    expect(existsSync(path.join(target, 'registry.db'))).toBe(true);
    // a folder that is not a data directory is never replaced, --force or not
    const other = tmp();
    writeFileSync(path.join(other, 'notes.txt'), 'mine');
    const refusedOther = await cli(['--data-dir', other, 'restore', archive, '--force', '--json']);
    expect(refusedOther.stdout).toContain('SKIFF_E_RESTORE_NOT_EMPTY');
    expect(readdirSync(other)).toEqual(['notes.txt']);
  });

  describe('refuses a hostile or damaged archive, writing nothing outside the target', () => {
    /** Restores `bytes` into a fresh target; the code, and whether anything landed beside it. */
    async function refused(bytes: Buffer, extra: string[] = []): Promise<string> {
      const root = tmp();
      const file = path.join(root, 'hostile.tar.gz');
      writeFileSync(file, bytes);
      const target = path.join(root, 'data');
      const res = await cli(['--data-dir', target, 'restore', file, '--json', ...extra]);
      expect(res.code).not.toBe(0);
      // nothing beside the archive: the target it made and its staging folder are gone
      expect(readdirSync(root)).toEqual(['hostile.tar.gz']);
      return (JSON.parse(res.stdout) as { error: { code: string } }).error.code;
    }

    /** A genuine backup's files, unpacked, for tampering. */
    async function unpackedBackup(): Promise<string> {
      const dir = tmp();
      await extract({ file: archive, cwd: dir });
      return dir;
    }
    const pack = async (dir: string): Promise<Buffer> => {
      const out = path.join(tmp(), 'repacked.tar.gz');
      await create({ gzip: true, cwd: dir, file: out, portable: true }, readdirSync(dir));
      return readFileSync(out);
    };

    it('path traversal', async () => {
      expect(await refused(tarGz([{ name: '../escaped', data: Buffer.from('x') }]))).toBe(
        'SKIFF_E_ARCHIVE_UNSAFE',
      );
      expect(await refused(tarGz([{ name: '/tmp/abs', data: Buffer.from('x') }]))).toBe(
        'SKIFF_E_ARCHIVE_UNSAFE',
      );
    });

    it('a symbolic link', async () => {
      expect(await refused(tarGz([{ name: 'admin-token', type: '2', linkpath: '/etc/passwd' }]))).toBe(
        'SKIFF_E_ARCHIVE_UNSAFE',
      );
    });

    it('a size bomb', async () => {
      // 8 MiB of zeros packs to a few KiB; the cap is 4 × --max-size unpacked
      const bomb = zlib.gzipSync(rawTar([{ name: 'registry.db', data: Buffer.alloc(8 * 1024 * 1024) }]));
      expect(bomb.length).toBeLessThan(1024 * 1024);
      expect(await refused(bomb, ['--max-size', '1'])).toBe('SKIFF_E_ARCHIVE_TOO_LARGE');
    });

    it('a bad checksum, an unlisted file, a path no backup holds, no manifest, not a tar.gz', async () => {
      const tampered = await unpackedBackup();
      writeFileSync(path.join(tampered, 'admin-token'), 'an attacker’s token\n');
      expect(await refused(await pack(tampered))).toBe('SKIFF_E_BACKUP_INVALID');

      const extra = await unpackedBackup();
      writeFileSync(path.join(extra, 'endpoints.json'), '{}');
      expect(await refused(await pack(extra))).toBe('SKIFF_E_BACKUP_INVALID');

      const listed = await unpackedBackup();
      const manifestFile = path.join(listed, 'skiff-backup.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: { path: string }[] };
      const first = manifest.files[0];
      if (first !== undefined) first.path = 'sandbox/../../x.db';
      writeFileSync(manifestFile, JSON.stringify(manifest));
      expect(await refused(await pack(listed))).toBe('SKIFF_E_BACKUP_INVALID');

      expect(await refused(tarGz([{ name: 'registry.db', data: Buffer.from('x') }]))).toBe(
        'SKIFF_E_BACKUP_INVALID',
      );
      expect(await refused(Buffer.from('not an archive at all'))).toBe('SKIFF_E_BACKUP_INVALID');
    });

    it('a backup of a newer schema', async () => {
      const newer = await unpackedBackup();
      const manifestFile = path.join(newer, 'skiff-backup.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { schema: number };
      manifest.schema += 1;
      writeFileSync(manifestFile, JSON.stringify(manifest));
      expect(await refused(await pack(newer))).toBe('SKIFF_E_DATA_DIR_TOO_NEW');
    });
  });
});
