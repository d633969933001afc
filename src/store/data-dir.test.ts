import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { secureDataDir, shareCode, VERIFIED_FILE } from './data-dir.js';

const mode = (file: string) => lstatSync(file).mode & 0o7777;
const made: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-datadir-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('secureDataDir', () => {
  it('makes folders 0700 and strips group and other bits from files, executables included', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'logs'));
    writeFileSync(path.join(dir, 'logs', 'a.log'), 'x');
    writeFileSync(path.join(dir, 'tool'), 'x');
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'logs'), 0o777);
    chmodSync(path.join(dir, 'logs', 'a.log'), 0o666);
    chmodSync(path.join(dir, 'tool'), 0o4755);
    await secureDataDir(dir, undefined);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, 'logs'))).toBe(0o700);
    expect(mode(path.join(dir, 'logs', 'a.log'))).toBe(0o600);
    expect(mode(path.join(dir, 'tool'))).toBe(0o700);
  });

  it('never follows a link out of the data directory', async () => {
    const dir = tmp();
    const outside = path.join(tmp(), 'victim');
    writeFileSync(outside, 'x');
    chmodSync(outside, 0o644);
    symlinkSync(outside, path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'functions', 'f', 'v1-abc'), { recursive: true });
    symlinkSync(path.dirname(outside), path.join(dir, 'functions', 'f', 'v1-abc', 'up'));
    await secureDataDir(dir, 4242);
    expect(mode(outside)).toBe(0o644);
    expect(mode(path.dirname(outside))).toBe(0o700); // mkdtemp's, untouched
  });

  it('gives code to the sandboxes’ group read-only (root), the rest of functions/ stays owner-only', async () => {
    if (process.getuid?.() !== 0) return;
    const dir = tmp();
    const version = path.join(dir, 'functions', 'f', 'v1-abc');
    mkdirSync(path.join(version, 'lib'), { recursive: true });
    writeFileSync(path.join(version, 'lib', 'x.js'), 'x');
    writeFileSync(path.join(version, 'fn'), 'x');
    chmodSync(path.join(version, 'lib', 'x.js'), 0o666);
    chmodSync(path.join(version, 'fn'), 0o777);
    await secureDataDir(dir, 4242);
    expect(mode(path.join(dir, 'functions'))).toBe(0o700);
    expect(mode(path.join(dir, 'functions', 'f'))).toBe(0o700);
    expect(mode(version)).toBe(0o750);
    expect(mode(path.join(version, 'lib', 'x.js'))).toBe(0o640);
    expect(mode(path.join(version, 'fn'))).toBe(0o750);
    expect(lstatSync(path.join(version, 'fn')).gid).toBe(4242);
    // owner-only again without a group
    await shareCode(version, undefined);
    expect(mode(path.join(version, 'fn'))).toBe(0o700);
    expect(lstatSync(path.join(version, 'fn')).gid).toBe(0);
  });

  it('walks a version’s code once: again only for a new version, a changed group or no record', async () => {
    const dir = tmp();
    const fn = path.join(dir, 'functions', 'f');
    const v1 = path.join(fn, 'v1-abc');
    mkdirSync(v1, { recursive: true });
    writeFileSync(path.join(v1, 'a.js'), 'x');
    chmodSync(path.join(v1, 'a.js'), 0o666);
    await secureDataDir(dir, undefined);
    expect(mode(path.join(v1, 'a.js'))).toBe(0o600);
    // written by hand after the walk: the record says v1 was walked, so it is not walked again...
    chmodSync(path.join(v1, 'a.js'), 0o644);
    // ...while a new version, and everything outside the versions, is
    const v2 = path.join(fn, 'v2-def');
    mkdirSync(v2);
    writeFileSync(path.join(v2, 'b.js'), 'x');
    chmodSync(path.join(v2, 'b.js'), 0o666);
    chmodSync(fn, 0o755);
    writeFileSync(path.join(dir, 'other'), 'x');
    chmodSync(path.join(dir, 'other'), 0o644);
    await secureDataDir(dir, undefined);
    expect(mode(path.join(v1, 'a.js'))).toBe(0o644);
    expect(mode(path.join(v2, 'b.js'))).toBe(0o600);
    expect(mode(fn)).toBe(0o700);
    expect(mode(path.join(dir, 'other'))).toBe(0o600);
    expect(mode(path.join(dir, VERIFIED_FILE))).toBe(0o600);
    // another group (non-root: owners stay, modes follow the group's scheme) walks every version again
    await secureDataDir(dir, process.getuid?.() === 0 ? 4242 : undefined);
    if (process.getuid?.() === 0) expect(mode(path.join(v1, 'a.js'))).toBe(0o640);
    // a damaged record walks every version
    writeFileSync(path.join(dir, VERIFIED_FILE), '{');
    chmodSync(path.join(v1, 'a.js'), 0o666);
    await secureDataDir(dir, undefined);
    expect(mode(path.join(v1, 'a.js'))).toBe(0o600);
  });

  it('refuses / and a shared temp folder', async () => {
    await expect(secureDataDir('/', undefined)).rejects.toMatchObject({ code: 'SKIFF_E_CONFIG_INVALID' });
    await expect(secureDataDir(os.tmpdir(), undefined)).rejects.toMatchObject({
      code: 'SKIFF_E_CONFIG_INVALID',
    });
  });
});
