import path from 'node:path';
import { SkiffError } from '../shared/errors.js';
import { buildCommand } from './command-build.js';
import { instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';

/**
 * Custom: the function's `command` is the bridge itself and speaks runtime protocol v1 on fd 3
 * (docs/runtimes/custom-and-http.md). A relative program path with a slash is resolved in the code
 * folder. No warm bridge and no interpreter of the platform's: the process is the user's own.
 */
export const custom: Runtime<'custom'> = {
  name: 'custom',
  build: buildCommand,
  launch(deployment, config) {
    const [program, ...args] = deployment.command ?? [];
    if (program === undefined) {
      throw new SkiffError('SKIFF_E_INVALID_SPEC', 'runtime custom needs a "command" in skiff.json');
    }
    const command =
      program.includes('/') && !path.isAbsolute(program)
        ? path.resolve(deployment.codeDir, program)
        : program;
    return { command, args, env: instanceEnv(deployment, config), cwd: deployment.codeDir };
  },
  launchWarm: null,
  interpreter: () => null,
};
