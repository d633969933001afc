/** `skiff dev`'s watch (real files) and its redeploy schedule (a deploy the test finishes when it wants). */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redeployer, watchFolder, type FolderWatch } from './dev-watch.js';
import { quietFor, waitUntil } from '../../test/helpers/wait.js';

describe('Redeployer', () => {
  it('gives a burst of changes one deploy, a change during a deploy one more after it, never two at once', async () => {
    let started = 0;
    let running = 0;
    let most = 0;
    const finish: (() => void)[] = [];
    const redeployer = new Redeployer(async () => {
      started += 1;
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => finish.push(resolve));
      running -= 1;
    }, 50);

    for (let i = 0; i < 5; i++) redeployer.changed();
    await waitUntil('the first deploy', () => started === 1);
    // changes while it runs: held until it ends, then one deploy for all of them
    for (let i = 0; i < 5; i++) redeployer.changed();
    await quietFor(150, 'past the quiet time: the deploy is due, but held while one runs');
    expect(started).toBe(1);
    finish.shift()?.();
    await waitUntil('the deploy after it', () => started === 2);
    finish.shift()?.();
    await waitUntil('the second deploy to end', () => running === 0);
    expect(most).toBe(1);
    redeployer.stop();
    redeployer.changed();
    await quietFor(150, 'stopped: a change had its chance to deploy');
    expect(started).toBe(2);
  });
});

describe('watchFolder', () => {
  let dir: string | undefined;
  let watch: FolderWatch | undefined;
  afterEach(async () => {
    watch?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sees saves that rename a new file over the old one, new subfolders, and not what .skiffignore leaves out', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-test-watch-'));
    await writeFile(path.join(dir, '.skiffignore'), 'notes/\n*.log\n');
    await writeFile(path.join(dir, 'index.mjs'), 'a');
    await mkdir(path.join(dir, 'notes'));
    const seen: string[] = [];
    watch = await watchFolder(
      dir,
      (rel) => seen.push(rel),
      (err) => {
        throw err;
      },
    );
    const saveByRename = async (text: string): Promise<void> => {
      await writeFile(path.join(dir as string, '.index.mjs.tmp'), text);
      await rename(path.join(dir as string, '.index.mjs.tmp'), path.join(dir as string, 'index.mjs'));
    };
    for (const text of ['b', 'c', 'd']) {
      const before = seen.filter((rel) => rel === 'index.mjs').length;
      await saveByRename(text);
      await waitUntil(`save ${text} seen`, () => seen.filter((rel) => rel === 'index.mjs').length > before);
    }
    await writeFile(path.join(dir, 'index.mjs'), 'e');
    await mkdir(path.join(dir, 'lib'));
    await waitUntil('the new folder', () => seen.includes('lib'));
    await waitUntil('a file in the new folder', async () => {
      await writeFile(path.join(dir as string, 'lib', 'util.mjs'), 'x');
      return seen.includes('lib/util.mjs');
    });
    await writeFile(path.join(dir, 'notes', 'todo.txt'), 'x');
    await writeFile(path.join(dir, 'debug.log'), 'x');
    await writeFile(path.join(dir, 'last.mjs'), 'x');
    await waitUntil('the last file', () => seen.includes('last.mjs'));
    expect(seen.filter((rel) => rel.startsWith('notes') || rel.endsWith('.log'))).toEqual([]);
  });

  it('never watches a folder it is told to skip (a platform data folder inside the function folder)', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-test-watch-'));
    await mkdir(path.join(dir, 'run', 'data'), { recursive: true });
    const seen: string[] = [];
    watch = await watchFolder(
      dir,
      (rel) => seen.push(rel),
      (err) => {
        throw err;
      },
      () => undefined,
      ['run/data'],
    );
    await writeFile(path.join(dir, 'run', 'data', 'registry.db'), 'x');
    await mkdir(path.join(dir, 'run', 'data', 'logs'));
    await writeFile(path.join(dir, 'run', 'data', 'logs', 'f.jsonl'), 'x');
    await writeFile(path.join(dir, 'run', 'other.txt'), 'x');
    await waitUntil('the file beside it', () => seen.includes('run/other.txt'));
    expect(seen.filter((rel) => rel.startsWith('run/data'))).toEqual([]);
  });
});
