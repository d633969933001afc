import type { Config } from '../shared/config.js';
import { buildBinary } from './binary-build.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';

function generic(config: Config) {
  return {
    ...nodeBridge(config, ['exec', 'bridge.js']),
    env: baseEnv(config),
    // In the data folder until INIT moves it to the function's code (and where leak checks look).
    cwd: config.dataDir,
  };
}

/**
 * Binary: the build finds the executable and makes it executable (binary-build.ts); the exec bridge
 * (on Node) runs it once per invocation (docs/runtimes/binary.md).
 */
export const binary: Runtime<'binary'> = {
  name: 'binary',
  build: buildBinary,
  launch(deployment, config) {
    return { ...generic(config), env: instanceEnv(deployment, config), cwd: deployment.codeDir };
  },
  launchWarm: generic,
  interpreter: (config) => config.runtimes.node,
};
