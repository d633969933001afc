import path from 'node:path';
import type { Config } from '../shared/config.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import { buildBinary } from './binary-build.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';

/**
 * The exec bridge starts each run through a small Python spawner (runtimes/exec/spawner.py) when the
 * configured Python starts it, since forking the bridge's Node heap per run costs more than the run;
 * without Python it falls back to Node's spawn. Both are given as arguments after the bridge's file.
 */
function spawnerArgs(config: Config): string[] {
  return [config.runtimes.python, path.join(PACKAGE_ROOT, 'runtimes', 'exec', 'spawner.py')];
}

function generic(config: Config) {
  const bridge = nodeBridge(config, ['exec', 'bridge.js']);
  return {
    ...bridge,
    args: [...bridge.args, ...spawnerArgs(config)],
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
