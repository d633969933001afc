import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { packDirectory } from '../../src/store/archive/pack.js';
import { waitFor } from './wait.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

/** Every listener of `skiff serve` on a free loopback port: test files run in parallel. */
export const FREE_PORTS = [
  ...['--control-port', '0', '--http-port', '0', '--http-host', '127.0.0.1'],
  ...['--grpc-port', '0', '--coap-port', '0', '--mqtt-port', '0'],
];

export interface ServeProcess {
  child: ChildProcess;
  control: string;
  http: string;
  token: string;
}

/**
 * Spawns the built `skiff serve` on `dataDir` with free ports and a bare environment, and resolves
 * once it wrote `endpoints.json` (within 20 s). `stdio` beyond 0-2 gives the platform inherited fds;
 * `env` adds variables to the bare environment.
 */
export async function spawnServe(
  dataDir: string,
  options: { args?: string[]; stdio?: StdioOptions; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const endpointsFile = path.join(dataDir, 'endpoints.json');
  rmSync(endpointsFile, { force: true });
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--data-dir', dataDir, ...FREE_PORTS, ...(options.args ?? [])],
    {
      stdio: options.stdio ?? ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
    },
  );
  try {
    const endpoints = await waitFor(
      'skiff serve to write endpoints.json',
      async () => {
        if (child.exitCode !== null) throw new Error(`skiff serve exited with ${child.exitCode}`);
        return existsSync(endpointsFile)
          ? (JSON.parse(readFileSync(endpointsFile, 'utf8')) as { control: string; http: string })
          : undefined;
      },
      20_000,
    );
    const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    return { child, control: endpoints.control, http: endpoints.http, token };
  } catch (err) {
    // a platform that did not come up is not left running (with its instances) for the caller to find
    child.kill('SIGKILL');
    throw err;
  }
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Deploys a function folder to a spawned platform through its control API; the answer's status and text. */
export async function deployTo(
  serve: ServeProcess,
  name: string,
  dir: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${serve.control}/v1/functions/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/gzip' },
    body: await packDirectory(dir),
  });
  return { status: res.status, text: await res.text() };
}
