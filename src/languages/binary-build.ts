import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../shared/errors.js';
import { walkPinned } from '../shared/pinned-walk.js';
import type { Builder } from './runtime.js';
import { insideDir } from './inside-dir.js';
import { checkShellSyntax } from './shell-syntax.js';

const DEFAULT_EXECUTABLES = ['fn', 'fn.sh'];

async function isFile(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined))?.isFile() === true;
}

/**
 * Makes a file executable (0755): archives made on other systems (zip from Windows, some CI artifacts)
 * lose the execute bit, and a function's executable is meant to be run in any case.
 */
export async function makeExecutable(file: string): Promise<boolean> {
  let changed = false;
  // pinned (src/shared/pinned-walk.ts): a link, or a file swapped for one, never has its target changed
  await walkPinned(file, async (entry) => {
    if (!entry.stat.isFile() || (entry.stat.mode & 0o777) === 0o755) return false;
    await entry.chmod(0o755);
    changed = true;
    return false;
  });
  return changed;
}

/**
 * The binary build step: find the executable (`handler` from skiff.json, else `fn`, else `fn.sh`) and
 * make sure it is executable; a shell script is parsed with its shell's `-n` (shell-syntax.ts). Returns
 * its path relative to the function folder.
 */
export const buildBinary: Builder = async ({ dir, spec, log, runner }) => {
  const candidates = spec.handler !== null ? [spec.handler] : DEFAULT_EXECUTABLES;
  for (const rel of candidates) {
    const full = insideDir(dir, rel);
    if (!(await isFile(full))) continue;
    if (await makeExecutable(full)) log(`chmod 0755 ${path.relative(dir, full)}`);
    const entry = path.relative(dir, full);
    log(`executable: ${entry}`);
    await checkShellSyntax(runner, full, entry, log);
    return entry;
  }
  throw new SkiffError(
    'SKIFF_E_HANDLER_NOT_FOUND',
    spec.handler !== null
      ? `the executable ${spec.handler} is not in the uploaded folder`
      : `no executable found (looked for ${DEFAULT_EXECUTABLES.join(', ')}); add one or set "handler" in skiff.json`,
  );
};
