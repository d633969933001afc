import path from 'node:path';
import { SkiffError } from '../shared/errors.js';
import { buildCommand } from './command-build.js';
import { instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';

/**
 * Custom: the function's `command` is the bridge itself and speaks runtime protocol v1 on fd 3
 * (docs/runtimes/custom-and-http.md). A relative program path with a slash is resolved in the code
 * folder. No warm bridge and no interpreter of the platform's: the process is the user's own.
 *
 * A flavor with a `customShim` (model/flavor.ts) speaks its platform's runtime interface instead:
 * then the instance is that bridge (on Node), which starts the command (passed as JSON in
 * SKIFF_COMMAND) as its child in the same sandbox and translates between the two.
 */
export const custom: Runtime<'custom'> = {
  name: 'custom',
  build: buildCommand,
  launch(deployment, config) {
    const [program, ...args] = deployment.command ?? [];
    if (program === undefined) {
      throw new SkiffError('SKIFF_E_INVALID_SPEC', 'runtime custom needs a "command" in skiff.json');
    }
    if (deployment.customShim !== undefined) {
      return {
        ...nodeBridge(config, deployment.customShim.split('/')),
        env: instanceEnv(deployment, config, { SKIFF_COMMAND: JSON.stringify(deployment.command) }),
        cwd: deployment.codeDir,
      };
    }
    const command =
      program.includes('/') && !path.isAbsolute(program)
        ? path.resolve(deployment.codeDir, program)
        : program;
    return { command, args, env: instanceEnv(deployment, config), cwd: deployment.codeDir };
  },
  launchWarm: null,
  // a flavor's shim runs on Node, whose installation the sandbox binds for the node runtime anyway
  interpreter: () => null,
};
