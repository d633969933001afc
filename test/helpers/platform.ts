import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ConfigInput } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { packDirectory } from '../../src/store/archive/pack.js';
import { TMP_PREFIX } from './tmp.js';

export { TMP_PREFIX };

export const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');

export async function makeDataDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
}

export interface TestPlatform {
  server: RunningServer;
  dataDir: string;
  controlUrl: string;
  httpUrl: string;
  token: string;
  /** A control API call with the admin token. */
  api(route: string, init?: RequestInit): Promise<Response>;
  /** Packs a folder and deploys it through the control API (PUT), returning the response. */
  deploy(name: string, dir: string, query?: string): Promise<Response>;
  call(route: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

type Overrides = { [K in keyof ConfigInput]?: ConfigInput[K] };

/** Starts the real platform in this process on free ports in a temporary (or given) data directory. */
export async function startPlatform(
  options: { dataDir?: string; config?: Overrides } = {},
): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    flags: {
      logLevel: 'silent',
      ...options.config,
      dataDir,
      control: { port: 0 },
      http: { host: '127.0.0.1', port: 0, ...(options.config?.http ?? {}) },
    },
  });
  const server = await startServer(config, createLogger(config.logLevel));
  const controlUrl = server.endpoints['control'] as string;
  const httpUrl = server.endpoints['http'] as string;
  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${controlUrl}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${server.token}`, ...(init.headers as Record<string, string>) },
    });
  return {
    server,
    dataDir,
    controlUrl,
    httpUrl,
    token: server.token,
    api,
    async deploy(name, dir, query = '') {
      const body = await packDirectory(dir);
      return api(`/v1/functions/${name}${query}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/gzip' },
        body,
      });
    },
    call: (route, init) => fetch(`${httpUrl}${route}`, init),
    stop: () => server.stop(2000),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
