import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeployRequest } from '../../control/deploy/deployer.js';
import { SkiffError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { outboundRequest, type OutboundPolicy, type OutboundResponse } from '../../shared/outbound.js';
import { extractArchive, packDirectory } from '../../store/archive/index.js';

/** tinyFaaS `env` → Skiff runtime. */
const RUNTIMES: Record<string, string> = { nodejs: 'node', python3: 'python', binary: 'binary' };

/** A tinyFaaS failure: 500 with a one-line reason. */
export const fail = (reason: string): SkiffError => new SkiffError('SKIFF_E_INVALID_REQUEST', reason);

/** Checks a tinyFaaS name; Skiff names are lower case, so upper-case letters are refused. */
export function tinyName(raw: unknown): string {
  if (typeof raw !== 'string' || !/^[a-zA-Z0-9]+$/.test(raw)) {
    throw fail('name must be letters and digits only (^[a-zA-Z0-9]+$)');
  }
  if (raw !== raw.toLowerCase()) throw fail('Skiff function names are lower case: use a lower-case name');
  if (raw.length > 63) throw fail('name must be at most 63 characters');
  return raw;
}

/** `envs: ["K=V", ...]` → env; split at the first `=`, entries without `=` skipped. */
export function parseEnvs(raw: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  if (raw === undefined || raw === null) return env;
  if (!Array.isArray(raw)) throw fail('envs must be a list of "KEY=VALUE" strings');
  for (const item of raw) {
    if (typeof item !== 'string') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

/** The deploy request of a tinyFaaS upload, for an archive already fetched. */
export function deployRequest(
  body: Record<string, unknown>,
  archive: Buffer,
  maxInstances: number,
): DeployRequest {
  const name = tinyName(body['name']);
  const envName = body['env'];
  if (envName === 'go') throw fail('env go is not supported by Skiff');
  const runtime = typeof envName === 'string' ? RUNTIMES[envName] : undefined;
  if (runtime === undefined) throw fail('env must be nodejs, python3 or binary');
  const threadsRaw = body['threads'];
  const threads = typeof threadsRaw === 'number' && Number.isFinite(threadsRaw) ? Math.floor(threadsRaw) : 1;
  const minInstances = Math.min(100, Math.max(1, threads));
  return {
    name,
    archive,
    runtime,
    flavor: 'tinyfaas',
    env: parseEnvs(body['envs']),
    scaling: { minInstances, ...(minInstances > maxInstances ? { maxInstances: minInstances } : {}) },
    mode: 'upsert',
  };
}

/** Standard base64 (whitespace tolerated); anything else is refused. */
export function decodeZip(raw: unknown): Buffer {
  if (typeof raw !== 'string') throw fail('zip must be a base64 string');
  const text = raw.replace(/\s+/g, '');
  if (text === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw fail('zip is not valid base64');
  }
  return Buffer.from(text, 'base64');
}

/** Checks `subfolder_path`: relative, no `..`; `""`, `.` and `/` mean the archive root. */
export function subfolder(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '' || raw === '/' || raw === '.') return '';
  if (typeof raw !== 'string') throw fail('subfolder_path must be a string');
  if (raw.startsWith('/') || raw.includes('\\') || raw.includes('\0')) {
    throw fail('subfolder_path must be relative to the archive root');
  }
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw fail('subfolder_path must not contain ..');
  return parts.join('/');
}

/** The longest a `/uploadURL` download may take, connect to last byte. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/**
 * Downloads a zip (at most `limit` bytes, 60 s) from a URL the caller chose, under the outbound policy
 * (src/shared/outbound.ts): no loopback, link-local, private or own address unless allowed, checked
 * again on the addresses DNS gives, and no redirect followed. A refused destination throws
 * `SKIFF_E_FORBIDDEN_DESTINATION`; any other failure a tinyFaaS failure. A failed connection is
 * reported without its cause (refused, unreachable, reset...): the caller would learn from it which
 * ports are open where the platform can reach; the cause is logged at debug.
 */
export async function download(
  url: unknown,
  limit: number,
  policy: OutboundPolicy,
  logger?: Logger,
): Promise<Buffer> {
  if (typeof url !== 'string') throw fail('url must be a string');
  const shown = url.slice(0, 200);
  let res: OutboundResponse;
  try {
    res = await outboundRequest(url, '/uploadURL url', policy, {
      method: 'GET',
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
      maxResponseBytes: limit,
    });
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    // a system error (refused, unreachable, reset, DNS) says what is at that address: not told
    if (typeof (err as NodeJS.ErrnoException).code === 'string') {
      logger?.debug({ err, url: shown }, '/uploadURL: the download failed');
      throw fail(`cannot download ${shown}: the connection failed`);
    }
    // the platform's own limits (size, time) are the caller's to know
    throw fail(`cannot download ${shown}: ${(err as Error).message}`);
  }
  if (res.status >= 300 && res.status < 400) {
    throw fail(`cannot download ${shown}: status ${res.status} (redirects are not followed)`);
  }
  if (res.status < 200 || res.status >= 300) throw fail(`cannot download ${shown}: status ${res.status}`);
  return res.body;
}

/** Extracts an archive and packs one folder of it again (a tar.gz the deployer takes). */
export async function selectFolder(archive: Buffer, folder: string, limit: number): Promise<Buffer> {
  if (folder === '') return archive;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-tinyfaas-'));
  try {
    await extractArchive(archive, dir, { maxPackedBytes: limit });
    const sub = path.join(dir, ...folder.split('/'));
    if ((await stat(sub).catch(() => undefined))?.isDirectory() !== true) {
      throw fail(`subfolder_path ${folder} is not a folder in the archive`);
    }
    return await packDirectory(sub, { exclude: () => false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
