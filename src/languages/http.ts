import { SkiffError } from '../shared/errors.js';
import { buildCommand } from './command-build.js';
import { instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';

/**
 * HTTP: the HTTP bridge (on Node) starts the function's own server (its `command`, passed as JSON in
 * SKIFF_COMMAND) and proxies invocations to it (docs/runtimes/custom-and-http.md). No warm bridge:
 * the bridge is nothing without the function's command.
 */
export const http: Runtime<'http'> = {
  name: 'http',
  build: buildCommand,
  launch(deployment, config) {
    if (deployment.command === null || deployment.command.length === 0) {
      throw new SkiffError('SKIFF_E_INVALID_SPEC', 'runtime http needs a "command" in skiff.json');
    }
    return {
      ...nodeBridge(config, ['http', 'bridge.js']),
      env: instanceEnv(deployment, config, { SKIFF_COMMAND: JSON.stringify(deployment.command) }),
      cwd: deployment.codeDir,
    };
  },
  launchWarm: null,
  interpreter: (config) => config.runtimes.node,
};
