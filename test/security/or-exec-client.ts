/**
 * A small client of the Open Runtimes executor API for the red team's tests (test/security/or-exec-*):
 * a platform with the API on, a function source packed into its storage root, JSON calls with the key.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../../src/store/archive/pack.js';
import { removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';

export const KEY = 'k';
export const NODE_IMAGE = 'openruntimes/node:v5-22';

export interface Executor {
  p: TestPlatform;
  url: string;
  storageRoot: string;
  call(route: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Packs `files` (name → text) as tar.gz at `<storageRoot>/<rel>`; returns the storage path `/rel`. */
  source(rel: string, files: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startExecutor(
  extra: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): Promise<Executor> {
  const p = await startPlatform({
    config: { ...config, compat: { openruntimes: { enabled: true, port: 0, secret: KEY, ...extra } } },
  });
  const url = `${p.server.endpoints['openruntimes'] as string}/v1`;
  const storageRoot = path.join(p.dataDir, 'openruntimes', 'storage');
  return {
    p,
    url,
    storageRoot,
    call(route, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${KEY}`);
      if (json !== undefined) {
        headers.set('content-type', 'application/json');
        if (!headers.has('accept')) headers.set('accept', 'application/json');
      }
      return fetch(`${url}${route}`, {
        ...rest,
        headers,
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
    },
    async source(rel, files) {
      const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
      try {
        for (const [name, text] of Object.entries(files)) {
          await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
          await writeFile(path.join(dir, name), text);
        }
        const bytes = await packDirectory(dir);
        const host = path.join(storageRoot, rel);
        await mkdir(path.dirname(host), { recursive: true });
        await writeFile(host, bytes);
        return `/${rel}`;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async stop() {
      await p.stop();
      await removeDir(p.dataDir);
    },
  };
}

/** A function answering `ok` (and, on /env, its variable NAME). */
export const OK_FUNCTION = {
  'index.js':
    "module.exports = async (context) => context.req.path === '/env' ? context.res.text(String(process.env[context.req.query.name])) : context.res.text('ok');\n",
};
