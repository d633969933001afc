import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { NAME_PATTERN } from '../model/spec.js';
import { SkiffError } from '../shared/errors.js';
import { shareCode, type CodeGroup } from './data-dir.js';

/** A version's content hash as the deploy stores it: hex (sha256), or '' for a build that failed. */
const HASH_PATTERN = /^[0-9a-f]{0,64}$/;

/**
 * The names and hashes that make a path come from the registry, which a restored backup or a
 * hand-edited registry.db may hold anything in: a name like `../../home/x` or a hash like `/../..`
 * would point a version's code, and the removal of old versions, outside `functions/`.
 */
function checkedName(name: string): string {
  if (!NAME_PATTERN.test(name))
    throw new SkiffError(
      'SKIFF_E_DATA_DIR_INVALID',
      `the registry names a function ${JSON.stringify(name.slice(0, 100))}, which is not a function name: registry.db was altered; restore it from a backup`,
    );
  return name;
}

/**
 * Function code on the local file system: `<dataDir>/functions/<name>/v<version>-<hash12>/`, made by
 * extracting into a fresh staging folder and renaming it into place once the build succeeded. On the
 * way, the code is given to the platform and made readable for the sandboxes' group only (data-dir.ts).
 */
export class ArtifactStore {
  private readonly staging: string;
  private readonly functions: string;

  constructor(
    dataDir: string,
    /** The group that reads function code (the sandboxes'), or undefined: owner-only. */
    private readonly codeGroup: CodeGroup = undefined,
  ) {
    this.staging = path.join(dataDir, 'staging');
    this.functions = path.join(dataDir, 'functions');
    mkdirSync(this.functions, { recursive: true, mode: 0o700 });
    mkdirSync(this.staging, { recursive: true, mode: 0o700 });
  }

  async createStaging(): Promise<string> {
    const dir = path.join(this.staging, randomUUID());
    await mkdir(dir, { recursive: true });
    return dir;
  }

  versionDir(name: string, version: number, hash: string): string {
    if (!Number.isSafeInteger(version) || version < 0 || !HASH_PATTERN.test(hash))
      throw new SkiffError(
        'SKIFF_E_DATA_DIR_INVALID',
        `the registry holds version ${JSON.stringify(String(version).slice(0, 30))} of ${JSON.stringify(name.slice(0, 100))} with the hash ${JSON.stringify(hash.slice(0, 100))}, which no deploy makes: registry.db was altered; restore it from a backup`,
      );
    return path.join(this.functions, checkedName(name), `v${version}-${hash.slice(0, 12)}`);
  }

  async commit(stagingDir: string, name: string, version: number, hash: string): Promise<string> {
    const target = this.versionDir(name, version, hash);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    // whatever the archive's modes and the build's owners were
    await shareCode(stagingDir, this.codeGroup);
    await rename(stagingDir, target);
    return target;
  }

  async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  async removeFunction(name: string): Promise<void> {
    await rm(path.join(this.functions, checkedName(name)), { recursive: true, force: true });
  }

  /** Removes staging folders left by a crash during a deploy. */
  async cleanStaging(): Promise<void> {
    for (const entry of await readdir(this.staging))
      await rm(path.join(this.staging, entry), { recursive: true, force: true });
  }
}

/** A content hash of a folder: sorted relative paths, their executable bit and their bytes. */
export async function hashTree(root: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        hash.update(`d\0${child}\0`);
        await walk(child);
      } else if (entry.isFile()) {
        const bytes = await readFile(path.join(root, child));
        hash.update(`f\0${child}\0${bytes.length}\0`);
        hash.update(bytes);
      }
    }
  }
  await walk('');
  return hash.digest('hex');
}
