/** The instance budget's logic with fake idle instances: admission, LRU eviction, waiting for room. */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../shared/config.js';
import { budgetLimits, InstanceBudget, type Evictable, type Lease } from './budget.js';

interface FakeIdle extends Evictable {
  evicted: boolean;
}

function setup(limits: { memoryMb: number; instances: number }) {
  const idle: FakeIdle[] = [];
  const budget = new InstanceBudget(limits, () => idle.filter((i) => !i.evicted));
  const markIdle = (lease: Lease, idleSince: number, kept = false): FakeIdle => {
    const entry: FakeIdle = {
      lease,
      idleSince,
      kept,
      evicted: false,
      evict: () => (entry.evicted = true),
    };
    idle.push(entry);
    return entry;
  };
  return { budget, markIdle };
}

describe('InstanceBudget', () => {
  it('admits within the count and stops the least recently used idle instance for one more', async () => {
    const { budget, markIdle } = setup({ memoryMb: 10_000, instances: 2 });
    const a = (await budget.admit(100)) as Lease;
    const b = (await budget.admit(100)) as Lease;
    const idleB = markIdle(b, 1);
    const idleA = markIdle(a, 2);
    let third: Lease | undefined;
    void budget.admit(100).then((l) => (third = l));
    await Promise.resolve();
    expect(idleB.evicted).toBe(true);
    expect(idleA.evicted).toBe(false);
    // the room comes when the evicted instance has exited
    expect(third).toBeUndefined();
    b.release();
    await Promise.resolve();
    expect(third?.memoryMb).toBe(100);
    expect(budget.used).toEqual({ memoryMb: 200, instances: 2 });
  });

  it('lets no start nobody waits for (minInstances) hold up the others, and gives it free room only', async () => {
    const { budget, markIdle } = setup({ memoryMb: 10_000, instances: 2 });
    const kept = (await budget.admit(100)) as Lease;
    const spare = (await budget.admit(100)) as Lease;
    const keptIdle = markIdle(kept, 1, true);
    let background: Lease | undefined;
    void budget.admit(100, undefined, () => false).then((l) => (background = l));
    await Promise.resolve();
    expect(keptIdle.evicted).toBe(false); // it stops nothing
    let urgent: Lease | undefined;
    void budget.admit(100).then((l) => (urgent = l));
    // the urgent start comes first; it stops an instance kept for minInstances when no other is idle
    expect(keptIdle.evicted).toBe(true);
    kept.release();
    await Promise.resolve();
    expect(urgent).toBeDefined();
    expect(background).toBeUndefined();
    spare.release();
    await Promise.resolve();
    expect(background).toBeDefined();
  });

  it('stops instances beyond minInstances before one that keeps its function at minInstances', async () => {
    const { budget, markIdle } = setup({ memoryMb: 10_000, instances: 2 });
    const kept = markIdle((await budget.admit(100)) as Lease, 1, true);
    const spare = markIdle((await budget.admit(100)) as Lease, 2);
    void budget.admit(100);
    expect(spare.evicted).toBe(true);
    expect(kept.evicted).toBe(false);
  });

  it('waits while every instance is busy, and admits once one is idle', async () => {
    const { budget, markIdle } = setup({ memoryMb: 10_000, instances: 1 });
    const busy = (await budget.admit(100)) as Lease;
    let next: Lease | undefined;
    void budget.admit(100).then((l) => (next = l));
    await Promise.resolve();
    expect(next).toBeUndefined();
    const idle = markIdle(busy, 5);
    budget.kick();
    expect(idle.evicted).toBe(true);
    busy.release();
    await Promise.resolve();
    expect(next).toBeDefined();
  });

  it('counts memory limits, and evicts nothing when that would not make enough room', async () => {
    const { budget, markIdle } = setup({ memoryMb: 300, instances: 100 });
    const small = (await budget.admit(100)) as Lease;
    await budget.admit(200); // busy
    const idle = markIdle(small, 1);
    let big: Lease | undefined;
    void budget.admit(250).then((l) => (big = l));
    await Promise.resolve();
    expect(idle.evicted).toBe(false);
    expect(big).toBeUndefined();
    expect(budget.waiters).toBe(1);
  });

  it('drops a start that is no longer wanted when room is found', async () => {
    const { budget } = setup({ memoryMb: 10_000, instances: 1 });
    const held = (await budget.admit(100)) as Lease;
    let wanted = true;
    const dropped = budget.admit(100, () => wanted);
    wanted = false;
    held.release();
    await expect(dropped).resolves.toBeUndefined();
    expect(budget.used.instances).toBe(0);
  });

  it('gives freed room to the function holding the fewest instances, not to the first in line', async () => {
    const { budget } = setup({ memoryMb: 10_000, instances: 3 });
    const busy = [
      (await budget.admit(100, undefined, undefined, 'busy')) as Lease,
      (await budget.admit(100, undefined, undefined, 'busy')) as Lease,
      (await budget.admit(100, undefined, undefined, 'busy')) as Lease,
    ];
    let busyMore: Lease | undefined;
    let other: Lease | undefined;
    void budget.admit(100, undefined, undefined, 'busy').then((l) => (busyMore = l));
    void budget.admit(100, undefined, undefined, 'other').then((l) => (other = l));
    busy[0]?.release();
    await Promise.resolve();
    expect(other?.memoryMb).toBe(100);
    expect(busyMore).toBeUndefined();
  });

  it('tells a function over its share to yield only while another function waits', async () => {
    const { budget } = setup({ memoryMb: 10_000, instances: 4 });
    for (let n = 0; n < 4; n++) await budget.admit(100, undefined, undefined, 'busy');
    expect(budget.shouldYield('busy')).toBe(false); // nobody else waits: it may use the whole budget
    let other: Lease | undefined;
    void budget.admit(100, undefined, undefined, 'other').then((l) => (other = l));
    expect(budget.shouldYield('busy')).toBe(true); // 4 instances against a share of 2
    expect(budget.shouldYield('other')).toBe(false);
    expect(other).toBeUndefined();
  });

  it('never tells a function holding one instance to yield', async () => {
    const { budget } = setup({ memoryMb: 1000, instances: 8 });
    await budget.admit(1000, undefined, undefined, 'big');
    void budget.admit(100, undefined, undefined, 'other');
    expect(budget.shouldYield('big')).toBe(false);
  });

  it('derives unset limits from the host, never below the largest memory limit a function may ask for', () => {
    const config = configSchema.parse({});
    expect(budgetLimits(config, { totalMemoryMb: 8192, cpus: 2 })).toEqual({ memoryMb: 4096, instances: 64 });
    expect(budgetLimits(config, { totalMemoryMb: 256, cpus: 1 }).memoryMb).toBe(
      config.sandbox.maxLimits.memoryMb,
    );
    const set = configSchema.parse({ executor: { budget: { memoryMb: 4096, instances: 3 } } });
    expect(budgetLimits(set, { totalMemoryMb: 8192, cpus: 2 })).toEqual({ memoryMb: 4096, instances: 3 });
  });
});
