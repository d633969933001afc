import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../model/limits.js';
import type { Deployment } from '../model/deployment.js';
import { DEFAULT_SCALING } from '../model/scaling.js';
import { configSchema } from '../shared/config.js';
import { functionHeapFlags, heapFlags } from './node-heap.js';
import { runtimeOf } from './index.js';

const config = configSchema.parse({ dataDir: '/srv/skiff', runtimes: { node: '/opt/node/bin/node' } });

function deployment(memoryMb: number, env: Record<string, string> = {}): Deployment {
  return {
    function: 'fn',
    version: 1,
    hash: 'h',
    runtime: 'node',
    handler: 'index.js',
    startTimeoutMs: 10_000,
    codeDir: '/srv/skiff/code/fn',
    env,
    secrets: {},
    timeoutMs: 30_000,
    command: null,
    scaling: DEFAULT_SCALING,
    limits: { ...DEFAULT_LIMITS, memoryMb },
    network: 'none',
    flavor: 'native',
    showErrorText: false,
    callers: null,
    private: false,
  };
}

describe('the heap of a Node instance', () => {
  it('is sized from the memory limit: half of it for the old generation, a 32nd per semi-space', () => {
    expect(heapFlags(256)).toEqual(['--max-old-space-size=128', '--max-semi-space-size=8']);
    expect(heapFlags(1024)).toEqual(['--max-old-space-size=512', '--max-semi-space-size=16']);
    expect(heapFlags(2048)).toEqual(['--max-old-space-size=1024', '--max-semi-space-size=16']);
    expect(heapFlags(32)).toEqual(['--max-old-space-size=16', '--max-semi-space-size=1']);
  });

  it('is passed to the bridge of a deployed function, before the bridge file', () => {
    const launch = runtimeOf('node').launch(deployment(512), config);
    const old = launch.args.indexOf('--max-old-space-size=256');
    expect(old).toBeGreaterThanOrEqual(0);
    expect(launch.args).toContain('--max-semi-space-size=16');
    expect(old).toBeLessThan(launch.args.findIndex((a) => a.endsWith('bridge.js')));
  });

  it("leaves a size the function's NODE_OPTIONS sets to it", () => {
    const env = { NODE_OPTIONS: '--max-old-space-size=300' };
    expect(functionHeapFlags(256, env)).toEqual(['--max-semi-space-size=8']);
    expect(runtimeOf('node').launch(deployment(256, env), config).args).not.toContain(
      '--max-old-space-size=128',
    );
  });

  it('of a warm-pool process is sized for the default limit, so only functions with it take one', () => {
    const warm = runtimeOf('node').launchWarm?.(config);
    expect(warm?.args).toContain(`--max-old-space-size=${config.sandbox.limits.memoryMb / 2}`);
    expect(runtimeOf('node').warmSizedByMemory).toBe(true);
    expect(runtimeOf('python').warmSizedByMemory).toBeUndefined();
  });

  it('of a warm-pool process kept for another memory limit is sized for that limit', () => {
    const warm = runtimeOf('node').launchWarm?.(config, 128);
    expect(warm?.args).toContain('--max-old-space-size=64');
    expect(warm?.args).toContain('--max-semi-space-size=4');
    expect(warm?.args).not.toContain('--enable-source-maps'); // the bridge turns them on at INIT
  });
});
