/**
 * The servers Skiff is compared with, each answering the same hello world: a bare Node
 * `http.createServer`, Hono on `@hono/node-server` (an in-process Node framework: the ceiling for a
 * handler in the server's own process), workerd (one worker, its own config) and Python's stdlib
 * ThreadingHTTPServer.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { firstSuccess } from '../lib/http.js';
import { BENCH, ROOT } from '../lib/paths.js';
import { PYTHON, PYTHON_FLAGS, capture, freePort, start, stop, tail } from '../lib/proc.js';
import { HELLO } from '../platform.js';

export interface Baseline {
  id: string;
  label: string;
  /** The command line that serves hello on `port`. */
  command(port: number): { command: string; args: string[]; cwd?: string };
  version(): string;
}

export interface RunningServer {
  url: string;
  pid: number;
  child: ChildProcess;
  /** From spawn to the first 200 answer with the hello body. */
  firstResponseMs: number;
  stop(): Promise<void>;
}

/** workerd is installed on first use, pinned, into bench/.cache (not a project dependency: 160 MB). */
export const WORKERD_VERSION = '1.20261117.1';
/** Hono and its Node adapter, installed the same way (pinned exactly; checked with `npm view`). */
export const HONO_VERSION = '4.13.23';
export const HONO_NODE_SERVER_VERSION = '2.1.11';

/**
 * Installs pinned npm packages into `bench/.cache/<folder>` unless `ready` (a file of the install)
 * exists already; returns the folder. Scripts are not run.
 */
function cachedInstall(folder: string, packages: string[], ready: (prefix: string) => string): string {
  const prefix = path.join(BENCH, '.cache', folder);
  if (!existsSync(ready(prefix))) {
    mkdirSync(prefix, { recursive: true });
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        ...packages,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return prefix;
}

// `workerd/bin/workerd` is a Node wrapper that spawns the native executable and does not pass
// SIGTERM on, which left the server running after the benchmark: run the native one directly.
const workerdNative = (prefix: string): string =>
  path.join(
    prefix,
    'node_modules',
    '@cloudflare',
    `workerd-${process.platform}-${process.arch === 'x64' ? '64' : process.arch}`,
    'bin',
    'workerd',
  );

function workerdBinary(): string {
  const prefix = cachedInstall(`workerd-${WORKERD_VERSION}`, [`workerd@${WORKERD_VERSION}`], workerdNative);
  const native = workerdNative(prefix);
  if (!existsSync(native))
    throw new Error(`workerd has no native executable for ${process.platform}-${process.arch}`);
  return native;
}

function honoPrefix(): string {
  return cachedInstall(
    `hono-${HONO_VERSION}-node-server-${HONO_NODE_SERVER_VERSION}`,
    [`hono@${HONO_VERSION}`, `@hono/node-server@${HONO_NODE_SERVER_VERSION}`],
    (prefix) => path.join(prefix, 'node_modules', '@hono', 'node-server', 'package.json'),
  );
}

export const BASELINES: Baseline[] = [
  {
    id: 'bare-node',
    label: 'bare Node http',
    command: (port) => ({
      command: process.execPath,
      args: [path.join(BENCH, 'servers', 'bare-node.mjs'), String(port)],
    }),
    version: () => `Node ${process.version}`,
  },
  {
    id: 'hono-node',
    label: 'Hono on @hono/node-server',
    command: (port) => ({
      command: process.execPath,
      args: [path.join(BENCH, 'servers', 'hono.mjs'), String(port), honoPrefix()],
    }),
    version: () =>
      `hono ${HONO_VERSION}, @hono/node-server ${HONO_NODE_SERVER_VERSION}, Node ${process.version}`,
  },
  {
    id: 'workerd',
    label: 'workerd',
    command: (port) => ({
      command: workerdBinary(),
      args: [
        'serve',
        path.join(BENCH, 'servers', 'workerd', 'config.capnp'),
        '--socket-addr',
        `http=127.0.0.1:${port}`,
      ],
      cwd: ROOT,
    }),
    version: () => capture(workerdBinary(), ['--version']) ?? 'workerd (version unknown)',
  },
  {
    id: 'python-stdlib',
    label: 'Python ThreadingHTTPServer',
    command: (port) => ({
      command: PYTHON,
      args: [...PYTHON_FLAGS, path.join(BENCH, 'servers', 'python_http.py'), String(port)],
    }),
    version: () => capture(PYTHON, [...PYTHON_FLAGS, '--version']) ?? 'python3',
  },
];

/** Starts a baseline on a free port and waits for its first good answer (timed from spawn). */
export async function startBaseline(baseline: Baseline, timeoutMs = 20_000): Promise<RunningServer> {
  const port = await freePort();
  const { command, args, cwd } = baseline.command(port);
  const began = performance.now();
  const child = start(command, args, cwd === undefined ? {} : { cwd });
  const output = tail(child);
  const url = `http://127.0.0.1:${port}/`;
  try {
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${baseline.label} exited (${code}): ${output()}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([firstSuccess(url, HELLO, timeoutMs), exited]);
    const firstResponseMs = performance.now() - began;
    return { url, pid: child.pid as number, child, firstResponseMs, stop: () => stop(child) };
  } catch (err) {
    await stop(child);
    throw err;
  }
}
