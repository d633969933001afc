import type { Config } from '../shared/config.js';
import { explainNodeSyntaxError } from './node-syntax.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import { buildNode } from './node-build.js';
import type { Runtime } from './runtime.js';
import { nodeBridge } from './node-bridge.js';
import { functionHeapFlags, heapFlags } from './node-heap.js';

const EXTRA_ENV = { NODE_ENV: 'production' };
/** With the quiet time after which an idle instance gives back its young generation (idle-gc.ts). */
const nodeEnv = (config: Config) => ({
  ...EXTRA_ENV,
  SKIFF_REDUCE_AFTER_IDLE_MS: String(config.memory.instanceReduceAfterIdleMs),
});

function generic(
  config: Config,
  heap: readonly string[] = heapFlags(config.sandbox.limits.memoryMb),
  warmPool = false,
) {
  // source maps: the bridge turns them on at INIT, before the function's code loads (bridge.ts)
  const bridge = nodeBridge(config, ['node', 'bridge.js'], [...heap, '--experimental-detect-module'], false);
  // a warm-pool process prepares while it waits for INIT (bridge.ts)
  if (warmPool) bridge.args.push('--warm-pool');
  return {
    ...bridge,
    env: { ...nodeEnv(config), ...baseEnv(config) },
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
    const env = instanceEnv(deployment, config, nodeEnv(config));
    const heap = functionHeapFlags(deployment.limits.memoryMb, { ...deployment.env, ...deployment.secrets });
    return { ...generic(config, heap), env, cwd: deployment.codeDir };
  },
  // heap flags of the default limit, or of another (the warm pool keeps a few such sizes)
  launchWarm: (config, memoryMb) =>
    generic(config, heapFlags(memoryMb ?? config.sandbox.limits.memoryMb), true),
  warmSizedByMemory: true,
  interpreter: (config) => config.runtimes.node,
  explainSyntaxError: explainNodeSyntaxError,
};
