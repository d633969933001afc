import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../shared/errors.js';
import { makeExecutable } from './binary-build.js';
import type { Builder } from './runtime.js';

/**
 * The build step of the `custom` and `http` runtimes: nothing to compile, but the spec must have a
 * `command`; a program given by a relative path (`./server`, `bin/run`) must be in the upload and is
 * made executable. Returns `handler` as written (passed to a custom runtime in INIT), else the flavor's
 * default, or ''.
 */
export const buildCommand: Builder = async ({ dir, spec, handler, log }) => {
  const program = spec.command?.[0];
  if (program === undefined) {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', `runtime ${spec.runtime} needs a "command" in skiff.json`);
  }
  if (program.includes('/') && !path.isAbsolute(program)) {
    const full = path.resolve(dir, program);
    const info = full.startsWith(dir + path.sep) ? await lstat(full).catch(() => undefined) : undefined;
    if (info?.isFile() !== true) {
      throw new SkiffError(
        'SKIFF_E_HANDLER_NOT_FOUND',
        `the command's program ${program} is not in the uploaded folder`,
      );
    }
    if (await makeExecutable(full)) log(`chmod 0755 ${program}`);
  }
  log(`command: ${JSON.stringify(spec.command)}`);
  // the handler as written; without one, the flavor's default for the runtime
  return spec.handler ?? handler ?? '';
};
