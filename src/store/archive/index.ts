export { extractArchive } from './extract.js';
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits.js';
export { defaultPackExclude, packablePaths, packDirectory, type PackOptions } from './pack.js';
export type { ExtractResult } from './staging.js';
