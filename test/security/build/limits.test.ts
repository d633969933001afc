/**
 * Build limits that hold without the sandbox's help: build.timeoutMs ends a build that runs forever
 * with everything it started, and esbuild refuses files outside the function folder even with
 * --insecure-no-sandbox.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../../helpers/platform.js';
import { folderWith } from '../../helpers/tmp.js';
import { eventually, processesWith, type Failure } from './setup.js';

describe('build time limit', () => {
  let p: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    p = await startPlatform({ config: { build: { npmScripts: true, timeoutMs: 5_000 } } });
  });

  afterAll(async () => {
    await p?.stop();
    if (dir !== undefined) await removeDir(dir);
  });

  it('a build that runs forever is killed at build.timeoutMs, with everything it started', async () => {
    const marker = `skiff-forever-${randomBytes(6).toString('hex')}`;
    dir = await folderWith({
      'index.js': 'export default () => "hi";\n',
      'dep/package.json': JSON.stringify({ name: 'dep', version: '1.0.0' }),
      'package.json': JSON.stringify({
        name: 'forever',
        version: '1.0.0',
        dependencies: { dep: 'file:./dep' },
        scripts: { postinstall: `(sh -c 'while true; do :; done; ${marker}' &) ; while true; do :; done` },
      }),
    });
    const started = Date.now();
    const res = await p.deploy('forever', dir);
    const body = (await res.json()) as Failure;
    expect(res.status).toBe(422);
    expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(body.error.message).toMatch(/did not finish within 5000 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await eventually(() => processesWith(marker).length === 0)).toBe(true);
  });
});

describe('without a sandbox (--insecure-no-sandbox)', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform({ config: { sandbox: { mode: 'none' } } });
  });

  afterAll(async () => {
    await p?.stop();
    for (const dir of dirs) await removeDir(dir);
  });

  it('esbuild still refuses files outside the function folder', async () => {
    for (const target of [path.join(p.dataDir, 'admin-token'), '/etc/shadow', '../../admin-token']) {
      const dir = await folderWith({
        'index.ts': `import secret from ${JSON.stringify(target)} with { type: 'text' };\nexport default () => secret;\n`,
      });
      dirs.push(dir);
      const res = await p.deploy('steal', dir);
      const text = await res.text();
      expect(res.status, text).toBe(422);
      expect(text).not.toContain(p.token);
      expect(text).toContain('outside the function folder');
    }
  });
});
