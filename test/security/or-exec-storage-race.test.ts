/**
 * Red team of the executor's storage root: the client shares it, so it can swap a folder of a
 * `source` path for a symbolic link out of the root while the executor reads it. The check that the
 * path stays inside and the read must be one: else the executor reads (and deploys, and lets the
 * client run) an archive from anywhere on the host, e.g. another tenant's code.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, TMP_PREFIX } from '../helpers/platform.js';
import { NODE_IMAGE, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;
let outside: string;

const answering = (text: string) => ({
  'index.js': `module.exports = async (context) => context.res.text('${text}');\n`,
});

beforeAll(async () => {
  e = await startExecutor({ maxRuntimes: 1000 });
  outside = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await e.source('race/dreal/code.tar.gz', answering('inside'));
  await e.source('elsewhere/code.tar.gz', answering('outside'));
  // the outside archive, then the storage copy of it removed: only the link reaches it
  await mkdir(path.join(outside, 'dir'));
  await rename(
    path.join(e.storageRoot, 'elsewhere', 'code.tar.gz'),
    path.join(outside, 'dir', 'code.tar.gz'),
  );
  await symlink(path.join(outside, 'dir'), path.join(e.storageRoot, 'race', 'dlink'));
}, 60_000);

afterAll(async () => {
  await e?.stop();
  if (outside !== undefined) await removeDir(outside);
}, 30_000);

describe('a client racing the storage check', () => {
  it('a folder swapped for a link out of the root mid-read is never read through the link', async () => {
    const race = path.join(e.storageRoot, 'race');
    await writeFile(
      path.join(outside, 'swap.sh'),
      'cd "$1" || exit 1\nwhile :; do mv -T dreal d; mv -T d dreal; mv -T dlink d; mv -T d dlink; done\n',
    );
    const swapper = spawn('/bin/bash', [path.join(outside, 'swap.sh'), race], { stdio: 'ignore' });
    const seen: string[] = [];
    try {
      const deadline = Date.now() + 20_000;
      for (let i = 0; i < 400 && Date.now() < deadline && !seen.includes('outside'); i++) {
        const res = await e.call('/runtimes', {
          method: 'POST',
          json: { runtimeId: `r${i}`, image: NODE_IMAGE, source: '/race/d/code.tar.gz' },
        });
        await res.arrayBuffer();
        if (res.status !== 201) continue;
        const run = await e.call(`/runtimes/r${i}/executions`, { method: 'POST', json: {} });
        seen.push(((await run.json()) as { body: string }).body);
        await (await e.call(`/runtimes/r${i}`, { method: 'DELETE' })).arrayBuffer();
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(seen, 'runtimes made from the archive outside the root').not.toContain('outside');
  }, 60_000);
});
