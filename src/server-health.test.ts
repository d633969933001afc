import { describe, expect, it } from 'vitest';
import type { Deployment } from './model/deployment.js';
import { minimumInstancesStarted } from './server-health.js';

describe('minimumInstancesStarted', () => {
  it('waits for the minimum instances at most two start timeouts', () => {
    let now = 1000;
    const d = { function: 'f', version: 1 } as Deployment;
    const condition = minimumInstancesStarted({ atMinimum: () => false }, [d], 500, () => now);
    expect(condition()).toMatch(/minimum instances/);
    now += 999;
    expect(condition()).toBeDefined();
    now += 1;
    expect(condition()).toBeUndefined();
    expect(minimumInstancesStarted({ atMinimum: () => true }, [d], 500)()).toBeUndefined();
  });
});
