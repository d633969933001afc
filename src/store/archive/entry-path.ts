import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';

/** Quotes an archive entry name for a message: JSON escapes control characters, long names are cut. */
export function quoteEntry(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

export function unsafeEntry(name: string, reason: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_ARCHIVE_UNSAFE',
    `archive entry ${quoteEntry(name)} ${reason}; the upload was refused`,
  );
}

/**
 * Checks an entry name from an archive and returns it as a normalised relative path ('' for the
 * destination itself). Refuses, never rewrites: absolute paths, drive letters, `..`, backslashes and
 * NUL bytes throw SKIFF_E_ARCHIVE_UNSAFE, as does anything that would resolve outside `destDir`.
 */
export function safeEntryPath(destDir: string, name: string, maxDepth: number): string {
  if (name.includes('\0')) throw unsafeEntry(name, 'contains a NUL byte');
  if (name.includes('\\')) throw unsafeEntry(name, 'contains a backslash');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) throw unsafeEntry(name, 'is an absolute path');
  const parts = name.split('/');
  if (parts.includes('..')) throw unsafeEntry(name, "contains a '..' path component");
  const kept = parts.filter((part) => part !== '' && part !== '.');
  if (kept.length > maxDepth) throw unsafeEntry(name, `is nested deeper than ${maxDepth} folders`);
  const rel = kept.join('/');
  const root = path.resolve(destDir);
  const abs = path.resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + path.sep))
    throw unsafeEntry(name, 'resolves outside the destination');
  return rel;
}
