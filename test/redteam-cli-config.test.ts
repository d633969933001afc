/**
 * Attacks on the file `skiff login` keeps tokens in: a configuration folder others may write to (one
 * left world-writable, or an XDG_CONFIG_HOME in a shared place), and a link planted where the CLI
 * writes its temporary file, must never carry the token to a file another user can read.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeContexts } from '../src/cli/contexts.js';
import { cleanEnv, runCli } from './helpers/cli.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

describe('the contexts file against other users', () => {
  let platform: TestPlatform;
  const dirs: string[] = [];
  const tmp = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-rt-config-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform.stop();
    await removeDir(platform.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('makes a world-writable configuration folder private before it writes a token there', async () => {
    const home = tmp();
    const folder = path.join(home, 'skiff');
    mkdirSync(folder);
    chmodSync(folder, 0o777);
    const res = await runCli(
      ['login', platform.controlUrl, '--token-stdin', '--name', 'here'],
      cleanEnv({ XDG_CONFIG_HOME: home }),
      'utf8',
      undefined,
      platform.token,
    );
    expect(res.code, res.stderr).toBe(0);
    // anyone could have swapped config.json (or its temporary file) in a folder they may write to
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(folder, 'config.json')).mode & 0o777).toBe(0o600);
  });

  it('never writes the token through a link planted at its temporary file', () => {
    const home = tmp();
    const folder = path.join(home, 'skiff');
    mkdirSync(folder, { mode: 0o700 });
    const file = path.join(folder, 'config.json');
    // a file the attacker can read, linked from where this process writes the contexts first
    const stolen = path.join(tmp(), 'stolen');
    writeFileSync(stolen, '');
    chmodSync(stolen, 0o666);
    symlinkSync(stolen, `${file}.${process.pid}.tmp`);
    writeContexts(file, {
      current: 'x',
      contexts: { x: { url: 'http://127.0.0.1:1', token: 'SECRET-TOKEN' } },
    });
    expect(readFileSync(stolen, 'utf8')).not.toContain('SECRET-TOKEN');
    expect(statSync(stolen).mode & 0o777).toBe(0o666);
    expect(readFileSync(file, 'utf8')).toContain('SECRET-TOKEN');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
