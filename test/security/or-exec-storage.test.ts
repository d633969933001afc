/**
 * Red team of the executor API's storage root: `source` and `destination` must stay below it,
 * whatever `..`, symbolic links (the client shares the root, so it can plant links) or odd files
 * they name; sources in every form upstream writes (tar.gz, plain tar, zip) work.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, TMP_PREFIX } from '../helpers/platform.js';
import { NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;
let source: string;
let outside: string;

beforeAll(async () => {
  e = await startExecutor();
  source = await e.source('functions/s/code.tar.gz', OK_FUNCTION);
  outside = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
}, 60_000);

afterAll(async () => {
  await e?.stop();
  if (outside !== undefined) await removeDir(outside);
}, 30_000);

async function create(body: Record<string, unknown>) {
  const res = await e.call('/runtimes', { method: 'POST', json: { image: NODE_IMAGE, ...body } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a client naming storage paths', () => {
  it('a source outside the root, by .. or by a planted link, is never read', async () => {
    const real = path.join(e.storageRoot, source);
    await writeFile(path.join(outside, 'code.tar.gz'), await readFile(real));
    await symlink(path.join(outside, 'code.tar.gz'), path.join(e.storageRoot, 'link.tar.gz'));
    await symlink(outside, path.join(e.storageRoot, 'linkdir'));
    const relOut = path.relative(e.storageRoot, path.join(outside, 'code.tar.gz'));
    for (const [i, name] of [
      `/${relOut}`,
      relOut,
      `/storage/../../${relOut}`,
      '/link.tar.gz',
      '/linkdir/code.tar.gz',
      `file://${path.join(outside, 'code.tar.gz')}`,
    ].entries()) {
      const reply = await create({ runtimeId: `src${i}`, source: name });
      expect(reply.status, `${name}: ${JSON.stringify(reply.body)}`).not.toBe(201);
    }
  }, 60_000);

  it('a source that is a folder, a FIFO or /dev/zero through a link is refused without hanging', async () => {
    await mkdir(path.join(e.storageRoot, 'folder.tar.gz'));
    execFileSync('mkfifo', [path.join(e.storageRoot, 'fifo.tar.gz')]);
    await symlink('/dev/zero', path.join(e.storageRoot, 'zero.tar.gz'));
    for (const [i, name] of ['/folder.tar.gz', '/fifo.tar.gz', '/zero.tar.gz'].entries()) {
      const reply = await create({ runtimeId: `odd${i}`, source: name });
      expect(reply.status, name).toBeGreaterThanOrEqual(400);
    }
  }, 30_000);

  it('a destination by .. or through a planted link writes nothing outside the root', async () => {
    await symlink(outside, path.join(e.storageRoot, 'outlink'));
    const relOut = path.relative(e.storageRoot, outside);
    for (const [i, destination] of [
      `/${relOut}`,
      `../../${relOut}`,
      '/outlink',
      '/outlink/deeper',
    ].entries()) {
      const reply = await create({
        runtimeId: `dst${i}`,
        source,
        command: 'true',
        destination,
        remove: true,
      });
      if (reply.status === 201) {
        const stored = path.join(e.storageRoot, String(reply.body['path']));
        expect(existsSync(stored), destination).toBe(true);
      }
    }
    const left = (await readdir(outside, { recursive: true })).filter((name) => name !== 'code.tar.gz');
    expect(left).toEqual([]);
  }, 60_000);

  it('plain tar and zip sources work as tar.gz does', async () => {
    const tar = gunzipSync(await readFile(path.join(e.storageRoot, source)));
    await writeFile(path.join(e.storageRoot, 'plain.tar'), tar);
    const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    try {
      await writeFile(path.join(dir, 'index.js'), OK_FUNCTION['index.js']);
      execFileSync('python3', ['-m', 'zipfile', '-c', path.join(e.storageRoot, 'code.zip'), 'index.js'], {
        cwd: dir,
      });
    } finally {
      await removeDir(dir);
    }
    for (const [id, name, command] of [
      ['plain', '/plain.tar', 'true'],
      ['zipped', '/code.zip', 'true'],
      // a build's artifact with OPEN_RUNTIMES_BUILD_COMPRESSION=none is a plain tar, run as it is
      ['plainrun', '/plain.tar', ''],
      ['zipperun', '/code.zip', ''],
    ]) {
      const reply = await create({ runtimeId: id, source: name, command });
      expect(reply.status, `${name}: ${JSON.stringify(reply.body).slice(0, 300)}`).toBe(201);
      const run = await e.call(`/runtimes/${id}/executions`, { method: 'POST', json: {} });
      expect(((await run.json()) as { body: string }).body, name).toBe('ok');
    }
  }, 60_000);
});
