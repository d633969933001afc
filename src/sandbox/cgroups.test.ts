import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../model/limits.js';
import { openCgroups } from './cgroups.js';

const cgroups = openCgroups();
const usable = typeof cgroups !== 'string';

describe.skipIf(!usable)('the cpu limit of an instance cgroup', () => {
  it('is a quota per 100 ms period with a burst of one quota where the kernel has CFS burst', async () => {
    if (typeof cgroups === 'string') return;
    const id = `cpu-test-${process.pid}`;
    const dir = path.join(cgroups.bases.cpu, id);
    const [quotaFile, burstFile] =
      cgroups.version === 'v1'
        ? [path.join(dir, 'cpu.cfs_quota_us'), path.join(dir, 'cpu.cfs_burst_us')]
        : [path.join(dir, 'cpu.max'), path.join(dir, 'cpu.max.burst')];
    const quota = () => readFileSync(quotaFile, 'utf8').trim().split(' ')[0];
    const burst = () => (existsSync(burstFile) ? readFileSync(burstFile, 'utf8').trim() : 'none');
    const expectedBurst = (q: string) => (existsSync(burstFile) ? q : 'none');
    const cgroup = cgroups.create(id, { ...DEFAULT_LIMITS, cpus: 0.5 });
    try {
      expect(quota()).toBe('50000');
      expect(burst()).toBe(expectedBurst('50000'));
      cgroup.setLimits({ ...DEFAULT_LIMITS, cpus: 2 });
      expect([quota(), burst()]).toEqual(['200000', expectedBurst('200000')]);
      // a smaller quota than the burst in place is taken too (the burst is lowered first)
      cgroup.setLimits({ ...DEFAULT_LIMITS, cpus: 0.25 });
      expect([quota(), burst()]).toEqual(['25000', expectedBurst('25000')]);
    } finally {
      await cgroup.remove();
      await cgroups.close();
    }
  });
});

describe.skipIf(!usable)('the limits of a warm process taken by a function', () => {
  it('are written only when they differ from those in force', async () => {
    // its own: the test above closed the shared one
    const cgroups = openCgroups();
    if (typeof cgroups === 'string') return;
    const id = `limits-test-${process.pid}`;
    const pidsMax = path.join(cgroups.bases.pids, id, 'pids.max');
    const cgroup = cgroups.create(id, DEFAULT_LIMITS);
    try {
      expect(readFileSync(pidsMax, 'utf8').trim()).toBe(String(DEFAULT_LIMITS.pids));
      // changed behind its back: the same limits again must not touch the files
      writeFileSync(pidsMax, '7');
      cgroup.setLimits({ ...DEFAULT_LIMITS });
      expect(readFileSync(pidsMax, 'utf8').trim()).toBe('7');
      // other limits are written, all of them
      cgroup.setLimits({ ...DEFAULT_LIMITS, memoryMb: DEFAULT_LIMITS.memoryMb * 2 });
      expect(readFileSync(pidsMax, 'utf8').trim()).toBe(String(DEFAULT_LIMITS.pids));
    } finally {
      await cgroup.remove();
      await cgroups.close();
    }
  });
});
