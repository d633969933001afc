import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Dialects } from '../../src/compat/index.js';
import type { ConfigInput } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { loadPlatformConfig, startServer, type RunningServer } from '../../src/server.js';
import { packDirectory } from '../../src/store/archive/pack.js';
import { TMP_PREFIX } from './tmp.js';

export { TMP_PREFIX };

export const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');

/** The folder of a function fixture in test/fixtures/functions. */
export const fixture = (name: string): string => path.join(FIXTURES, 'functions', name);

export interface LogLine {
  ts: string;
  stream: string;
  message: string;
  invocationId?: string;
  version?: number;
}

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
  /** Deploys fixtures (function name → fixture folder name) and fails unless each is created. */
  deployAll(functions: Record<string, string>): Promise<void>;
  /** The last 1000 log lines of a function, oldest first. */
  logs(name: string): Promise<LogLine[]>;
  call(route: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

type Overrides = { [K in keyof ConfigInput]?: ConfigInput[K] };

/** Starts the real platform in this process on free ports in a temporary (or given) data directory. */
export async function startPlatform(
  options: { dataDir?: string; config?: Overrides; dialects?: Dialects } = {},
): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const sources = {
    env: {},
    cwd: dataDir,
    flags: {
      logLevel: 'silent',
      ...options.config,
      dataDir,
      control: { ...(options.config?.control ?? {}), port: 0 },
      http: { host: '127.0.0.1', port: 0, ...(options.config?.http ?? {}) },
      // free ports for every trigger, on loopback: test files run in parallel
      grpc: { host: '127.0.0.1', port: 0, ...(options.config?.grpc ?? {}) },
      coap: { host: '127.0.0.1', port: 0, ...(options.config?.coap ?? {}) },
      mqtt: {
        ...(options.config?.mqtt ?? {}),
        broker: { host: '127.0.0.1', port: 0, ...(options.config?.mqtt?.broker ?? {}) },
      },
    },
  };
  // the compiled-in dialects, or those a test brings (src/compat/dialect.ts)
  const config = loadPlatformConfig(sources, options.dialects);
  const server = await startServer(config, createLogger(config.logLevel), options.dialects);
  const controlUrl = server.endpoints['control'] as string;
  const httpUrl = server.endpoints['http'] as string;
  const api = (route: string, init: RequestInit = {}) =>
    fetch(`${controlUrl}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${server.token}`, ...(init.headers as Record<string, string>) },
    });
  const deploy = async (name: string, dir: string, query = '') => {
    const body = await packDirectory(dir);
    return api(`/v1/functions/${name}${query}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body,
    });
  };
  return {
    server,
    dataDir,
    controlUrl,
    httpUrl,
    token: server.token,
    api,
    deploy,
    async deployAll(functions) {
      for (const [name, dir] of Object.entries(functions)) {
        const res = await deploy(name, fixture(dir));
        if (res.status !== 201)
          throw new Error(`deploying ${dir} as ${name}: ${res.status} ${await res.text()}`);
      }
    },
    async logs(name) {
      const res = await api(`/v1/functions/${name}/logs?limit=1000`);
      return ((await res.json()) as { logs: LogLine[] }).logs;
    },
    call: (route, init) => fetch(`${httpUrl}${route}`, init),
    stop: () => server.stop(2000),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
