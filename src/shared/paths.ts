import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The Skiff package root (where package.json is), whether running from src/ or dist/. */
export const PACKAGE_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Compiled bridge files live in dist/runtimes/<lang>/. */
export function runtimeFile(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, 'dist', 'runtimes', ...parts);
}
