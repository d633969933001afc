/**
 * Skiff as people install it: `npm pack` of this checkout (dist/ as built by the test run's setup:
 * packed with --ignore-scripts so that its `prepack` build does not rewrite dist/ under the other
 * tests), `npm install -g` of the tarball into a temporary prefix (dependencies from the registry,
 * or npm's cache), then the installed `skiff serve` on free ports with a temporary data dir, a
 * function made by the installed `skiff init` from its templates, deployed and called.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { exited } from './helpers/serve-process.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

describe('the packed tarball', () => {
  const dirs: string[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await exited(c);
      }
    }
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('installs with npm install -g a skiff that serves, deploys and calls a function', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'skiff-install-'));
    dirs.push(tmp);
    // as root, sandboxes run as host uids of their own, which read the installed bridges (as in /usr/local)
    await chmod(tmp, 0o755);
    // the node running the tests (Node 24 from .node/ where the machine's is older) runs npm too
    const env = {
      PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? tmp,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
    expect(existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js')), 'npm run build ran').toBe(true);
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    if (info === undefined) throw new Error('npm pack listed no tarball');
    const files = info.files.map((f) => f.path);
    for (const needed of [
      'bin/skiff.js',
      'dist/src/cli/main.js',
      'dist/runtimes/node/bridge.js',
      'runtimes/python/bridge.py',
      'runtimes/sandbox/enter.sh',
      'templates/node/skiff.json',
      'proto/tinyfaas/tinyfaas.proto',
      'packaging/systemd/skiff.service',
    ]) {
      expect(files, needed).toContain(needed);
    }
    // the templates' own tests are part of what `skiff init` writes; nothing else of the tests is
    expect(files.filter((f) => f.includes('.test.') && !f.startsWith('templates/'))).toEqual([]);
    expect(files).toContain('templates/node/index.test.mjs');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    const prefix = path.join(tmp, 'prefix');
    await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', path.join(tmp, info.filename)],
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
    );
    const skiff = path.join(prefix, 'bin', 'skiff');
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(skiff, ['--version'], { env })).stdout.trim()).toBe(version.version);

    const dataDir = path.join(tmp, 'data');
    const serveEnv = { ...env, SKIFF_HOME: dataDir, XDG_CONFIG_HOME: path.join(tmp, 'config') };
    const serve = spawn(
      skiff,
      ['serve', '--control-port', '0', '--http-port', '0', '--http-host', '127.0.0.1', '--listeners', 'none'],
      { env: serveEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(serve);
    let stderr = '';
    serve.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const endpoints = await waitFor(
      () => `the installed skiff serve to start: ${stderr}`,
      () => {
        if (serve.exitCode !== null) throw new Error(`skiff serve exited with ${serve.exitCode}: ${stderr}`);
        const file = path.join(dataDir, 'endpoints.json');
        return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { http: string }) : undefined;
      },
      20_000,
    );
    const fnDir = path.join(tmp, 'hello');
    await run(skiff, ['init', fnDir, '--runtime', 'node'], { env: serveEnv });
    await run(skiff, ['fn', 'deploy', fnDir], { env: serveEnv, timeout: 60_000 });
    const res = await fetch(`${endpoints.http}/hello`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'Hello, world!' });
    expect((await fetch(`${endpoints.http}/_skiff/health/ready`)).status).toBe(200);
    serve.kill('SIGTERM');
    await exited(serve);
    expect(serve.exitCode).toBe(0);
  });
});
