import type { Config } from '../../shared/config.js';
import { runtimeFile } from '../../shared/paths.js';
import { baseEnv, instanceEnv, type RuntimeLauncher } from './launcher.js';

function generic(config: Config) {
  return {
    command: config.runtimes.node,
    args: ['--disable-warning=ExperimentalWarning', '--enable-source-maps', runtimeFile('exec', 'bridge.js')],
    env: baseEnv(config),
    // In the data folder until INIT moves it to the function's code (and where leak checks look).
    cwd: config.dataDir,
  };
}

/** Binary: the exec bridge runs the function's executable once per invocation (docs/runtimes/binary.md). */
export const binary: RuntimeLauncher = {
  launch(deployment, config) {
    return { ...generic(config), env: instanceEnv(deployment, config), cwd: deployment.codeDir };
  },
  launchGeneric: generic,
};
