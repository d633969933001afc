/**
 * Red team (issue 21): the npm tarball took `runtimes/python/__pycache__/*.pyc`, the bytecode the
 * packer's own test runs left there (git ignores it, `files` did not): compiled code of the packer's
 * Python, not built from the shipped sources, and run by the bridge when Python trusts it. The
 * package's `files` now leaves every `__pycache__` folder and `.pyc` file out.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const cache = path.join(ROOT, 'runtimes', 'python', '__pycache__');
const planted = path.join(cache, 'red-team-planted.cpython-399.pyc');
afterAll(() => rmSync(planted, { force: true }));

describe('red team: what the npm package holds', () => {
  it('leaves Python bytecode caches out', async () => {
    mkdirSync(cache, { recursive: true });
    writeFileSync(planted, 'not from the shipped sources');
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [info] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const paths = info?.files.map((f) => f.path) ?? [];
    expect(paths).toContain('runtimes/python/bridge.py');
    expect(paths.filter((p) => p.includes('__pycache__') || p.endsWith('.pyc'))).toEqual([]);
  });
});
