/**
 * The platform every executor test file starts: the Open Runtimes executor API with the Node and
 * Python functions written for upstream stored, built in the build sandbox (npm installs a real
 * dependency, pip a wheel shipped with the code) and started as runtimes `node` and `py`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { FIXTURES } from '../helpers/platform.js';
import { buildWheel } from '../helpers/wheels.js';
import { startExecutor, type ExecutorPlatform } from './executor-client.js';

export const fixture = (name: string): string => path.join(FIXTURES, 'openruntimes', name);
export const NODE_IMAGE = 'openruntimes/node:v5-22';
export const PYTHON_IMAGE = 'openruntimes/python:v5-3.12';
export const build = (install: string): string =>
  `tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "${install}"`;
export const START =
  'cp /tmp/code.tar.gz /mnt/code/code.tar.gz && nohup helpers/start.sh "bash helpers/server.sh"';
export const JSON_ACCEPT = { accept: 'application/json' };

/** An execution's outcome as JSON. */
export interface Outcome {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: string;
  logs: string;
  errors: string;
  duration: number;
  startTime: number;
}

export interface PreparedExecutor {
  e: ExecutorPlatform;
  /** Storage paths of the built artifacts, by runtime (`node`, `py`). */
  artifacts: Record<string, string>;
  /** An execution answered as JSON (status 200 checked). */
  execute(id: string, params?: Record<string, unknown>): Promise<Outcome>;
  /** Deploys a copy of the Node fixture through Skiff's own API, as flavor openruntimes with `env`. */
  deployCopy(name: string, env: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export async function prepareExecutor(): Promise<PreparedExecutor> {
  const e: ExecutorPlatform = await startExecutor();
  const artifacts: Record<string, string> = {};
  const cleanup: string[] = [];

  /** Deploys a copy of the Node fixture through Skiff's own API, as flavor openruntimes with `env`. */
  const deployCopy = async (name: string, env: Record<string, string>): Promise<void> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
    try {
      await cp(fixture('node-exec'), dir, { recursive: true });
      // its routes here need no dependency
      await writeFile(path.join(dir, 'package.json'), '{"name":"or-copy","version":"1.0.0"}');
      await writeFile(
        path.join(dir, 'skiff.json'),
        JSON.stringify({ runtime: 'node', flavor: 'openruntimes', env }),
      );
      const res = await e.p.deploy(name, dir);
      expect(res.status, await res.text()).toBe(201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /** An execution answered as JSON. */
  const execute = async (id: string, params: Record<string, unknown> = {}): Promise<Outcome> => {
    const res = await e.call('POST', `/runtimes/${id}/executions`, params, { headers: JSON_ACCEPT });
    expect(res.status, res.text).toBe(200);
    return res.json as Outcome;
  };

  // the function depends on a package tarball beside it (`file:vendor/greet-1.0.0.tgz`)
  const node = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
  cleanup.push(node);
  await cp(fixture('node-exec'), node, { recursive: true });
  mkdirSync(path.join(node, 'vendor'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(node, 'vendor')], {
    cwd: fixture('greet'),
  });
  e.store(node, '/storage/functions/node/code.tar.gz');
  // the Python function installs a wheel shipped with its code (PyPI is out of reach here)
  const python = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
  cleanup.push(python);
  await cp(fixture('python-exec'), python, { recursive: true });
  mkdirSync(path.join(python, 'wheels'));
  buildWheel(path.join(python, 'wheels'));
  await writeFile(path.join(python, 'requirements.txt'), 'skiffdemo==1.0\n');
  e.store(python, '/storage/functions/python/code.tar.gz');
  e.store(fixture('node-noexport'), '/storage/functions/noexport/code.tar.gz');
  e.store(fixture('python-nomain'), '/storage/functions/nomain/code.tar.gz');
  e.store(fixture('node-slowstart'), '/storage/functions/slowstart/code.tar.gz');
  for (const [id, image, source, install, entrypoint] of [
    ['node', NODE_IMAGE, 'node', 'npm install && npm run build', 'index.js'],
    [
      'py',
      PYTHON_IMAGE,
      'python',
      'python3 -m pip install --no-index --find-links ./wheels -r requirements.txt && python3 build.py',
      'main.py',
    ],
  ] as const) {
    const made = await e.call('POST', '/runtimes', {
      runtimeId: `build-${id}`,
      source: `/storage/functions/${source}/code.tar.gz`,
      destination: '/storage/builds/test',
      entrypoint,
      image,
      command: build(install),
      remove: true,
    });
    if (made.status !== 201) throw new Error(`building ${id}: ${made.status} ${made.text}`);
    artifacts[id] = (made.json as { path: string }).path;
    const started = await e.call('POST', '/runtimes', {
      runtimeId: id,
      source: artifacts[id],
      entrypoint,
      image,
      runtimeEntrypoint: START,
    });
    if (started.status !== 201) throw new Error(`starting ${id}: ${started.status} ${started.text}`);
  }
  return {
    e,
    artifacts,
    execute,
    deployCopy,
    async stop() {
      await e.stop();
      for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
    },
  };
}
