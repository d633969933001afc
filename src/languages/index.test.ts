import { describe, expect, it } from 'vitest';
import { RUNTIME_NAMES } from '../model/spec.js';
import { configSchema } from '../shared/config.js';
import { interpreters, runtimeOf, RUNTIMES } from './index.js';

const config = configSchema.parse({
  dataDir: '/srv/skiff',
  runtimes: { node: '/opt/node/bin/node', python: '/opt/python/bin/python3' },
});

describe('the runtime table', () => {
  it('has one record per runtime name of the spec, under its own name', () => {
    expect(Object.keys(RUNTIMES).sort()).toEqual([...RUNTIME_NAMES].sort());
    for (const name of RUNTIME_NAMES) expect(runtimeOf(name).name).toBe(name);
  });

  it('gives the sandbox each interpreter the bridges run with, once', () => {
    expect(interpreters(config)).toEqual(['/opt/node/bin/node', '/opt/python/bin/python3']);
  });

  it('has a warm bridge for every runtime the warm pool can be sized for, and none for user commands', () => {
    for (const name of Object.keys(config.executor.warmPool) as (keyof typeof config.executor.warmPool)[]) {
      expect(runtimeOf(name).launchWarm, name).not.toBeNull();
    }
    expect(runtimeOf('custom').launchWarm).toBeNull();
    expect(runtimeOf('http').launchWarm).toBeNull();
  });

  it('starts a warm bridge in the data folder with the platform environment only', () => {
    const warm = runtimeOf('python').launchWarm?.(config);
    expect(warm?.command).toBe('/opt/python/bin/python3');
    expect(warm?.cwd).toBe('/srv/skiff');
    expect(warm?.env.PATH).toBe('/usr/local/bin:/usr/bin:/bin');
  });
});
