import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import { instanceEnv, type RuntimeLauncher } from './launcher.js';

/**
 * Custom: the function's `command` is the bridge itself and speaks runtime protocol v1 on fd 3
 * (docs/runtimes/custom-and-http.md). A relative program path with a slash is resolved in the code folder.
 */
export const custom: RuntimeLauncher = {
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
};
