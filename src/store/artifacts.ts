import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { shareCode, type CodeGroup } from './data-dir.js';

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
    return path.join(this.functions, name, `v${version}-${hash.slice(0, 12)}`);
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
    await rm(path.join(this.functions, name), { recursive: true, force: true });
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
