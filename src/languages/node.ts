import type { Config } from '../shared/config.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import { buildNode } from './node-build.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';
import { functionHeapFlags, heapFlags } from './node-heap.js';

const EXTRA_ENV = { NODE_ENV: 'production' };

function generic(config: Config, heap: readonly string[] = heapFlags(config.sandbox.limits.memoryMb)) {
  return {
    ...nodeBridge(config, ['node', 'bridge.js'], [...heap, '--experimental-detect-module']),
    env: { ...EXTRA_ENV, ...baseEnv(config) },
    // In the data folder until INIT moves it to the function's code (and where leak checks look).
    cwd: config.dataDir,
  };
}

/**
 * Node.js: the build installs dependencies and compiles TypeScript (node-build.ts); the bridge loads
 * the user's module (ESM, CommonJS, or compiled TypeScript), with V8's heap sized from the function's
 * memory limit (node-heap.ts).
 */
export const node: Runtime<'node'> = {
  name: 'node',
  build: ({ runner, handler, config, log, installDependencies }) =>
    buildNode(runner, handler, config, log, installDependencies),
  launch(deployment, config) {
    const env = instanceEnv(deployment, config, EXTRA_ENV);
    const heap = functionHeapFlags(deployment.limits.memoryMb, { ...deployment.env, ...deployment.secrets });
    return { ...generic(config, heap), env, cwd: deployment.codeDir };
  },
  // heap flags of the default limits: warm processes only for functions with that memory limit
  launchWarm: (config) => generic(config),
  warmSizedByMemory: true,
  interpreter: (config) => config.runtimes.node,
};
