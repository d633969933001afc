/**
 * What a deploy leaves out of a folder: defaults, then the folder's own `.skiffignore` (gitignore
 * syntax, read by the `ignore` package; a `!pattern` there takes a default back).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore, Options } from 'ignore';

// a CommonJS package whose types declare an ES default export: required, its callable is what comes
const ignore = createRequire(import.meta.url)('ignore') as (options?: Options) => Ignore;

/** Left out of every deploy unless `.skiffignore` takes them back. */
export const DEFAULT_IGNORES: readonly string[] = ['.git/', '.skiff/', '.venv/', '__pycache__/', '*.pyc'];

/** At most this much of `.skiffignore` is read. */
const MAX_RULES_BYTES = 64 * 1024;

export interface DeployIgnore {
  exclude: (relPath: string, isDirectory: boolean) => boolean;
  /** The rules in force, defaults first (for messages). */
  rules: string[];
}

export async function deployIgnore(dir: string): Promise<DeployIgnore> {
  const rules = [...DEFAULT_IGNORES];
  // the build installs what package.json asks for: a local node_modules is not the function's
  if (existsSync(path.join(dir, 'package.json'))) rules.push('node_modules/');
  const file = path.join(dir, '.skiffignore');
  if (existsSync(file)) {
    const text = (await readFile(file, 'utf8')).slice(0, MAX_RULES_BYTES);
    rules.push(...text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#')));
  }
  const matcher = ignore().add(rules);
  return {
    rules,
    exclude: (relPath, isDirectory) => matcher.ignores(isDirectory ? `${relPath}/` : relPath),
  };
}
