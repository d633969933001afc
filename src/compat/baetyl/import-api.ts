/**
 * `POST /v1/compat/baetyl/import` on the control port (docs/compat/baetyl/import.md): the body is a
 * tar.gz (or zip) of the folder holding the configuration and the code, the query names the
 * configuration inside it (`config`, and for 1.0 optionally the runtimes' files, `runtimeConfig`,
 * repeatable), `format` (`baetyl` / `openedge`, else told from the keys) and `dryRun`. The upload is
 * unpacked by the platform's safe extractor into a temporary folder, removed afterwards. Needs the
 * admin token. Answers the ImportResult (import-apply.ts) as JSON.
 */
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { RawHandler } from '../../control/app.js';
import { createTokenCheck } from '../../control/auth.js';
import type { Deployer } from '../../control/deploy/deployer.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import { readBody, sendError, sendJson } from '../../shared/http.js';
import type { Logger } from '../../shared/logger.js';
import { extractArchive } from '../../store/archive/index.js';
import { planImport, type ConfigFile, type ImportFormat, type PlatformFacts } from './import-config.js';
import { MAX_CONFIG_BYTES } from './import-read.js';
import { applyImport } from './import-apply.js';

export const IMPORT_PATH = '/v1/compat/baetyl/import';

export interface ImportApiDeps {
  deployer: Deployer;
  token: string;
  logger: Logger;
  /** The largest upload (`build.maxUploadBytes`). */
  maxUploadBytes: number;
  /** The platform's facts, read per import (the broker's URL is known once the listeners are up). */
  facts(): PlatformFacts;
  /** The flavor of the existing function of that name (`native` when it names none), undefined when none exists. */
  existingFlavor?(name: string): string | undefined;
  /**
   * Told each 1.0 runtime service and its functions after a real (not dry) import, for the v2 proxy's
   * service table; absent: the grouping is only returned (`services` in the result).
   */
  recordService?(service: string, functions: readonly string[]): void;
}

const invalid = (message: string): SkiffError => new SkiffError('SKIFF_E_INVALID_REQUEST', message);

/** Runtime services' files one import reads at most (each up to MAX_CONFIG_BYTES, parsed at once). */
const MAX_RUNTIME_CONFIGS = 16;

/** A path inside the upload: relative, `/`-separated, no `..`. */
function memberPath(raw: string, key: string): string {
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (
    raw.startsWith('/') ||
    raw.includes('\\') ||
    raw.includes('\0') ||
    parts.includes('..') ||
    parts.length === 0
  ) {
    throw invalid(`${key} must be a path inside the upload, such as etc/baetyl/service.yml`);
  }
  return parts.join('/');
}

async function readMember(root: string, rel: string, key: string): Promise<ConfigFile> {
  let text: Buffer;
  try {
    text = await readFile(path.join(root, rel));
  } catch {
    throw invalid(`${key}: ${rel} is not a file of the upload`);
  }
  if (text.length > MAX_CONFIG_BYTES)
    throw invalid(`${key}: ${rel} is larger than ${MAX_CONFIG_BYTES} bytes`);
  return { name: rel, text: text.toString('utf8') };
}

function formatOf(raw: string | null): ImportFormat | undefined {
  if (raw === null || raw === '') return undefined;
  if (raw === 'baetyl' || raw === 'openedge') return raw;
  throw invalid('format must be baetyl (1.0) or openedge (0.1.x)');
}

function flag(raw: string | null): boolean {
  return raw === '' || raw === '1' || raw === 'true';
}

/** The import's management handler; other paths are left to the next handler. */
export function createImportApi(deps: ImportApiDeps): RawHandler {
  const checkToken = createTokenCheck(deps.token);
  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    checkToken(req.headers.authorization);
    if (req.method !== 'POST') {
      req.resume();
      throw new SkiffError('SKIFF_E_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed here; use POST`);
    }
    const query = url.searchParams;
    const configPath = memberPath(query.get('config') ?? '', 'config');
    const runtimeQuery = query.getAll('runtimeConfig');
    if (runtimeQuery.length > MAX_RUNTIME_CONFIGS) {
      throw invalid(`at most ${MAX_RUNTIME_CONFIGS} runtimeConfig files, one per runtime service`);
    }
    const runtimePaths = runtimeQuery.map((raw) => memberPath(raw, 'runtimeConfig'));
    const format = formatOf(query.get('format'));
    const dryRun = flag(query.get('dryRun'));
    const body = await readBody(req, deps.maxUploadBytes);
    const root = await mkdtemp(path.join(os.tmpdir(), 'skiff-baetyl-import-'));
    try {
      await extractArchive(body, root, { maxPackedBytes: deps.maxUploadBytes });
      const config = await readMember(root, configPath, 'config');
      const runtimeConfigs = await Promise.all(
        runtimePaths.map((rel) => readMember(root, rel, 'runtimeConfig')),
      );
      const plan = planImport(
        { config, runtimeConfigs, ...(format === undefined ? {} : { format }) },
        deps.facts(),
      );
      const result = await applyImport(plan, root, deps.deployer, dryRun, (name) =>
        deps.existingFlavor?.(name),
      );
      if (!dryRun && deps.recordService !== undefined) {
        for (const [service, functions] of Object.entries(result.services))
          deps.recordService(service, functions);
      }
      deps.logger.info(
        { functions: result.functions.map((fn) => fn.name), dryRun, format: result.format },
        'Baetyl configuration imported',
      );
      sendJson(res, dryRun ? 200 : 201, result);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    if (url.pathname !== IMPORT_PATH) return false;
    try {
      await handle(req, res, url);
    } catch (err) {
      const error = toSkiffError(err);
      if (!error.isUserError) deps.logger.error({ err }, 'Baetyl import failed');
      req.resume();
      sendError(res, error);
    }
    return true;
  };
}
