import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walkPinned } from './pinned-walk.js';

const isRoot = process.getuid?.() === 0;

/** Owner and mode of a path, without following a link. */
const owner = (file: string) => {
  const st = lstatSync(file);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
};

describe.runIf(isRoot)('walkPinned (as root)', () => {
  let dir: string;
  let tree: string;
  let host: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-pinned-'));
    tree = path.join(dir, 'tree');
    host = path.join(dir, 'host');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'file'), 'x');
    writeFileSync(path.join(tree, 'sub', 'inner'), 'x');
    mkdirSync(host);
    writeFileSync(path.join(host, 'secret'), 'host');
    writeFileSync(path.join(host, 'inner'), 'host');
    for (const file of [host, path.join(host, 'secret'), path.join(host, 'inner')])
      chownSync(file, 4242, 4242);
    chmodSync(path.join(host, 'secret'), 0o4755);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const giveAll = (swap: (file: string) => void) =>
    walkPinned(tree, async (entry) => {
      swap(entry.path);
      await entry.chown(1234, 1234);
      await entry.chmod(0o700);
      return true;
    });

  it('changes a link itself, never its target', async () => {
    symlinkSync(path.join(host, 'secret'), path.join(tree, 'link'));
    const before = owner(path.join(host, 'secret'));
    await giveAll(() => undefined);
    expect(owner(path.join(host, 'secret'))).toEqual(before);
    expect(owner(path.join(tree, 'link')).uid).toBe(1234);
    expect(owner(path.join(tree, 'file'))).toEqual({ uid: 1234, gid: 1234, mode: 0o700 });
    expect(owner(path.join(tree, 'sub', 'inner')).uid).toBe(1234);
  });

  it('an entry swapped for a link after it was looked at changes the entry, not the link’s target', async () => {
    const before = owner(path.join(host, 'secret'));
    await giveAll((file) => {
      if (file !== path.join(tree, 'file')) return;
      renameSync(file, path.join(dir, 'moved'));
      symlinkSync(path.join(host, 'secret'), file);
    });
    expect(owner(path.join(host, 'secret'))).toEqual(before);
    // the pinned inode (now at `moved`) got the change
    expect(owner(path.join(dir, 'moved')).uid).toBe(1234);
  });

  it('a folder swapped for a link to a host folder after it was opened: its entries, not the host’s', async () => {
    const before = [owner(host), owner(path.join(host, 'inner'))];
    await giveAll((file) => {
      if (file !== path.join(tree, 'sub')) return;
      renameSync(file, path.join(dir, 'moved-sub'));
      symlinkSync(host, file);
    });
    expect([owner(host), owner(path.join(host, 'inner'))]).toEqual(before);
    expect(owner(path.join(dir, 'moved-sub', 'inner')).uid).toBe(1234);
  });

  it('a root that is a link: only the link', async () => {
    const link = path.join(dir, 'root-link');
    symlinkSync(host, link);
    const seen: string[] = [];
    await walkPinned(link, async (entry) => {
      seen.push(entry.path);
      await entry.chown(1234, 1234);
      return true;
    });
    expect(seen).toEqual([link]);
    expect(owner(host).uid).toBe(4242);
    expect(owner(link).uid).toBe(1234);
  });
});
