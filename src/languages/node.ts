import type { Config } from '../shared/config.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import { buildNode } from './node-build.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';

const EXTRA_ENV = { NODE_ENV: 'production' };

function generic(config: Config) {
  return {
    ...nodeBridge(config, ['node', 'bridge.js'], ['--experimental-detect-module']),
    env: { ...EXTRA_ENV, ...baseEnv(config) },
    // In the data folder until INIT moves it to the function's code (and where leak checks look).
    cwd: config.dataDir,
  };
}

/**
 * Node.js: the build installs dependencies and compiles TypeScript (node-build.ts); the bridge loads
 * the user's module (ESM, CommonJS, or compiled TypeScript).
 */
export const node: Runtime<'node'> = {
  name: 'node',
  build: ({ runner, handler, config, log, installDependencies }) =>
    buildNode(runner, handler, config, log, installDependencies),
  launch(deployment, config) {
    const env = instanceEnv(deployment, config, EXTRA_ENV);
    return { ...generic(config), env, cwd: deployment.codeDir };
  },
  launchWarm: generic,
  interpreter: (config) => config.runtimes.node,
};
