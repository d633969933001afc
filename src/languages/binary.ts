import type { Config } from '../shared/config.js';
import { runtimeFile } from '../shared/paths.js';
import { buildBinary } from './binary-build.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';

function generic(config: Config) {
  return {
    command: config.runtimes.node,
    args: ['--disable-warning=ExperimentalWarning', '--enable-source-maps', runtimeFile('exec', 'bridge.js')],
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
