/**
 * Upgrades keep data (docs/operations.md): this Skiff starts on the data directory of the
 * previous release (test/fixtures/datadir-v0.1.0.tar.gz, made by scripts/make-datadir-fixture.mjs with
 * that release's code), backs it up, migrates it, and serves everything in it; a data directory of a
 * newer schema is refused with SKIFF_E_DATA_DIR_TOO_NEW and left as it was.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/store/schema/steps.js';
import { about, expectFixtureServed, snapshot, unpackFixture } from './helpers/datadir-fixture.js';
import { BIN } from './helpers/cli.js';
import { exited, FREE_PORTS, spawnServe, type ServeProcess } from './helpers/serve-process.js';

const started: ServeProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of started) {
    s.child.kill('SIGKILL');
    await exited(s.child);
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('a data directory of the previous release', () => {
  it('is backed up, migrated to this schema and served: functions, versions, secrets, state, workflow, queue', async () => {
    const dir = await unpackFixture();
    dirs.push(dir);
    expect(existsSync(path.join(dir, 'VERSION.json'))).toBe(false);
    const serve = await spawnServe(dir, { args: ['--log-level', 'warn'] });
    started.push(serve);

    const version = JSON.parse(readFileSync(path.join(dir, 'VERSION.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(version['schema']).toBe(SCHEMA_VERSION);
    expect(version['skiffVersion']).toMatch(/^\d+\.\d+\.\d+/);
    const backups = readdirSync(path.join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(new RegExp(`^pre-migrate-0-${SCHEMA_VERSION}-`));
    expect(readdirSync(path.join(dir, 'backups', backups[0] ?? '')).sort()).toEqual([
      'queue.db',
      'registry.db',
      'state.db',
      'workflows.db',
    ]);

    await expectFixtureServed(
      serve,
      about.queued.map((q) => q.id),
    );
    serve.child.kill('SIGTERM');
    await exited(serve.child);
    expect(serve.child.exitCode).toBe(0);
  });

  it('of a newer schema is refused with SKIFF_E_DATA_DIR_TOO_NEW and left byte for byte as it was', async () => {
    const dir = await unpackFixture();
    dirs.push(dir);
    writeFileSync(
      path.join(dir, 'VERSION.json'),
      JSON.stringify({
        schema: SCHEMA_VERSION + 1,
        skiffVersion: '99.0.0',
        updatedAt: '2030-01-01T00:00:00Z',
      }),
    );
    const before = snapshot(dir);
    const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dir, ...FREE_PORTS], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await exited(child);
    expect(child.exitCode).not.toBe(0);
    expect(stderr).toContain('SKIFF_E_DATA_DIR_TOO_NEW');
    expect(stderr).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(snapshot(dir)).toEqual(before);
  });
});
