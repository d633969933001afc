import { SkiffError } from '../../shared/errors.js';

/** Caps applied while extracting an upload; every one is checked before or while bytes are written. */
export interface ArchiveLimits {
  /** Largest packed upload accepted (bytes), checked before any parsing. */
  maxPackedBytes: number;
  /** Largest total of file bytes written, counted on the streamed (decompressed) bytes. */
  maxUnpackedBytes: number;
  /** Most entries (files, folders, and for tar also refused kinds) an archive may hold. */
  maxEntries: number;
  /** Deepest path (in components) an entry may have. */
  maxDepth: number;
  /** Largest uncompressed/compressed ratio of one zip entry bigger than `ratioMinBytes`. */
  maxCompressionRatio: number;
  /** Zip entries at or below this uncompressed size are exempt from the ratio check. */
  ratioMinBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxPackedBytes: 50 * MiB,
  maxUnpackedBytes: 250 * MiB,
  maxEntries: 10_000,
  maxDepth: 64,
  maxCompressionRatio: 100,
  ratioMinBytes: 1 * MiB,
});

export function resolveArchiveLimits(limits: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const resolved: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS };
  for (const key of Object.keys(DEFAULT_ARCHIVE_LIMITS) as (keyof ArchiveLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!(value >= 0)) throw new SkiffError('SKIFF_E_INTERNAL', `archive limit ${key} must be a number >= 0`);
    resolved[key] = value;
  }
  return resolved;
}
