/**
 * The `file-log` resource's configurations: `filename` (required) resolved inside the file-log
 * directory, `add-source-id` and `add-timestamp` as "true"/"false". Upstream opens `filename` relative
 * to the node's working directory, anywhere, and turns a flag on whenever its key is present (even
 * with "false"); Skiff keeps logs in one directory and reads the flags' values.
 */
import path from 'node:path';
import type { AnnotationProblem } from './workflow-annotations.js';

export interface FileLogConfig {
  file: string;
  addSourceId: boolean;
  addTimestamp: boolean;
}

/** "true"/"false" in any case; "" (a bare key, how upstream switches a flag on) is true. */
function flag(
  configurations: Readonly<Record<string, string>>,
  key: string,
  problems: AnnotationProblem[],
): boolean {
  if (!Object.hasOwn(configurations, key)) return false;
  const value = (configurations[key] ?? '').trim().toLowerCase();
  if (value === 'true' || value === '') return true;
  if (value === 'false') return false;
  problems.push({ key, message: `use "true" or "false", not ${JSON.stringify(configurations[key])}` });
  return false;
}

/**
 * Where a `filename` may be written: relative to `dir` or absolute inside it, without `..` segments,
 * naming a file below `dir` (not `dir` itself). Returns the absolute path or the problem.
 */
export function logFilePath(filename: string, dir: string): string | string[] {
  const root = path.resolve(dir);
  if (filename.trim() === '') return ['is empty: name a file inside the log directory'];
  if (filename.includes('\0')) return ['holds a NUL byte'];
  if (filename.split(/[\\/]/).includes('..')) return [`${JSON.stringify(filename)} must not contain ..`];
  if (/[\\/]$/.test(filename)) return [`${JSON.stringify(filename)} names a directory, not a file`];
  const file = path.isAbsolute(filename) ? path.resolve(filename) : path.resolve(root, filename);
  const rel = path.relative(root, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
    return [`${JSON.stringify(filename)} is outside the log directory ${root}: give a path relative to it`];
  return file;
}

export function fileLogConfig(
  configurations: Readonly<Record<string, string>>,
  dir: string,
): FileLogConfig | AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  const addSourceId = flag(configurations, 'add-source-id', problems);
  const addTimestamp = flag(configurations, 'add-timestamp', problems);
  let file = '';
  const filename = Object.hasOwn(configurations, 'filename') ? configurations['filename'] : undefined;
  if (filename === undefined)
    problems.push({ key: 'filename', message: 'file-log needs a filename (relative to the log directory)' });
  else {
    const where = logFilePath(filename, dir);
    if (typeof where === 'string') file = where;
    else for (const message of where) problems.push({ key: 'filename', message });
  }
  return problems.length > 0 ? problems : { file, addSourceId, addTimestamp };
}
