/** Skiff's version, from the nearest package.json above this file (works from src/ and from dist/). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The names Skiff's package.json has had: the repository's, and the one published (docs/operations.md). */
const PACKAGE_NAMES = new Set(['skiff', 'skiff-faas']);

let cached: string | undefined;

export function skiffVersion(): string {
  cached ??= readVersion();
  return cached;
}

function readVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof pkg.name === 'string' && PACKAGE_NAMES.has(pkg.name) && typeof pkg.version === 'string')
          return pkg.version;
      } catch {
        // keep looking further up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}
