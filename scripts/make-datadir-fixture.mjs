#!/usr/bin/env node
/**
 * Makes the data-directory fixture of a release: test/fixtures/datadir-v<version>.tar.gz (and a .json
 * that says what is in it), which test/upgrade.test.ts starts the current Skiff on.
 *
 * Run it with the code of the release (before changing the data directory's schema), after
 * `npm run build`:
 *
 *   node scripts/make-datadir-fixture.mjs && npx prettier --write test/fixtures/datadir-v*.json
 *
 * It starts the built `skiff serve` on a fresh temp data directory with free loopback ports, deploys
 * the functions of test/fixtures/datadir-functions/ (node, python in two versions, a shell one and a
 * sink), sets a secret and state keys, applies a workflow, queues a delayed cast that is still queued
 * when the platform stops (SIGTERM, a graceful stop), and packs the data directory without what a
 * start makes again (logs, sandbox and staging folders, the disk ballast, endpoints.json, code-verified.json).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create } from 'tar';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'skiff.js');
const FUNCTIONS = path.join(ROOT, 'test', 'fixtures', 'datadir-functions');
const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const OUT = path.join(ROOT, 'test', 'fixtures', `datadir-v${version}`);
/** What a start makes again, or what only says where the platform listened: not in the fixture. */
const LEFT_OUT = new Set([
  'logs',
  'sandbox',
  'staging',
  'endpoints.json',
  'code-verified.json',
  'backups',
  'ballast',
]);

const data = mkdtempSync(path.join(os.tmpdir(), 'skiff-fixture-'));
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
const cli = (...args) =>
  execFileSync(process.execPath, [BIN, '--data-dir', data, ...args], { env, encoding: 'utf8' }).trim();

const serve = spawn(
  process.execPath,
  [BIN, 'serve', '--data-dir', data, '--control-port', '0', '--http-port', '0', '--http-host', '127.0.0.1'],
  { env, stdio: ['ignore', 'inherit', 'inherit'] },
);
const exited = new Promise((resolve) => serve.once('exit', resolve));
try {
  for (let i = 0; !existsSync(path.join(data, 'endpoints.json')); i++) {
    if (i > 400 || serve.exitCode !== null) throw new Error('skiff serve did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const dir of ['fx-node', 'fx-sink', 'fx-py-v1', 'fx-py-v2', 'fx-sh']) {
    cli('fn', 'deploy', path.join(FUNCTIONS, dir));
  }
  cli('secret', 'set', 'fx-node', 'FX_SECRET', '--value', 'kept-secret');
  cli('state', 'set', 'fx-node', 'note', '{"kept":true}');
  cli('state', 'set', 'fx-sink', 'bytes', 'raw bytes', '--type', 'bytes');
  cli('workflow', 'apply', path.join(FUNCTIONS, 'fx-flow.json'));
  // every function answers once (and so is known to work on the release)
  for (const name of ['fx-node', 'fx-py', 'fx-sh', 'fx-sink']) cli('invoke', name);
  // a cast due in an hour: still queued at the stop (the upgrade test moves it forward)
  const cast = JSON.parse(
    cli('invoke', 'fx-node', '--path', '/cast?ms=3600000', '--data', 'queued-in-v0', '--json'),
  );
  const queuedId = cast.body.id;
  serve.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`skiff serve exited with ${code}`);

  const files = execFileSync('ls', ['-A', data], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !LEFT_OUT.has(f));
  await create({ gzip: { level: 9 }, file: `${OUT}.tar.gz`, cwd: data, portable: true }, files);
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const about = {
    skiffVersion: version,
    commit,
    madeAt: new Date().toISOString(),
    functions: {
      'fx-node': 'node',
      'fx-sink': 'node',
      'fx-py': 'python (versions 1 and 2)',
      'fx-sh': 'binary',
    },
    secrets: { 'fx-node': ['FX_SECRET'] },
    state: { 'fx-node': ['note'], 'fx-sink': ['bytes'] },
    workflows: ['fx-flow'],
    queued: [{ id: queuedId, function: 'fx-sink', body: 'queued-in-v0' }],
    files,
  };
  writeFileSync(`${OUT}.json`, `${JSON.stringify(about, null, 2)}\n`);
  console.log(`wrote ${OUT}.tar.gz (${statSync(`${OUT}.tar.gz`).size} bytes) and ${OUT}.json`);
} finally {
  if (serve.exitCode === null && serve.signalCode === null) {
    serve.kill('SIGKILL');
    await exited;
  }
  rmSync(data, { recursive: true, force: true });
}
