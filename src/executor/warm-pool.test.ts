import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { waitUntil } from '../../test/helpers/wait.js';
import type { Deployment } from '../model/deployment.js';
import { WarmPool, type WarmInstance } from './warm-pool.js';

class FakeWarm implements WarmInstance<FakeWarm> {
  state = 'starting';
  fromWarmPool = false;
  onChange: ((instance: FakeWarm) => void) | undefined;
  afterFirstSettle: (() => void) | undefined;
  spawn(): Promise<void> {
    this.state = 'warm';
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.state = 'exited';
    return Promise.resolve();
  }
  kill(): void {
    this.state = 'exited';
  }
}

const deployment = { runtime: 'node', network: 'none', env: {}, secrets: {} } as unknown as Deployment;

function pool() {
  const created: FakeWarm[] = [];
  const sizes: (number | undefined)[] = [];
  const warm = new WarmPool<FakeWarm>(
    { node: 1 },
    (_runtime, memoryMb) => {
      const instance = new FakeWarm();
      created.push(instance);
      sizes.push(memoryMb);
      return instance;
    },
    pino({ level: 'silent' }),
  );
  return { warm, created, sizes };
}

describe('WarmPool', () => {
  it('starts the replacement of a taken process only after its first answer, not in take()', async () => {
    const { warm, created } = pool();
    warm.fill();
    await waitUntil('a warm process', () => warm.counts().node === 1);
    const taken = warm.take(deployment);
    expect(taken).toBe(created[0]);
    expect(taken?.fromWarmPool).toBe(true);
    // nothing spawned on the cold start's path
    expect(created).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(created).toHaveLength(1);
    taken?.afterFirstSettle?.();
    expect(created).toHaveLength(1);
    await waitUntil('the replacement', () => warm.counts().node === 1);
    expect(created).toHaveLength(2);
    await warm.stop();
  });

  it('replaces a taken process that answers nothing, soon after the take', async () => {
    const { warm, created } = pool();
    warm.fill();
    await waitUntil('a warm process', () => warm.counts().node === 1);
    expect(warm.take(deployment)).toBeDefined();
    expect(warm.counts().node).toBe(0);
    await waitUntil('the replacement', () => warm.counts().node === 1, 5_000);
    expect(created).toHaveLength(2);
    await warm.stop();
  });

  it('replaces a process a deploy takes at once, and a deploy waits for that refill rather than spawning', async () => {
    const { warm, created } = pool();
    warm.fill();
    await waitUntil('a warm process', () => warm.counts().node === 1);
    expect(warm.take(deployment, undefined, true)).toBe(created[0]);
    await waitUntil('the replacement under way', () => created.length === 2);
    // the refill spawns (the fake settles at once): the next deploy is told when it is warm
    await warm.whenWarm('node', 5_000);
    expect(warm.counts().node).toBe(1);
    expect(warm.take(deployment, undefined, true)).toBe(created[1]);
    await warm.stop();
  });

  it('tells a deploy waiting for a spawn under way once it settles', async () => {
    let release: () => void = () => undefined;
    class SlowWarm extends FakeWarm {
      override spawn(): Promise<void> {
        return new Promise((resolve) => {
          release = () => {
            this.state = 'warm';
            resolve();
          };
        });
      }
    }
    const warm = new WarmPool<FakeWarm>({ node: 1 }, () => new SlowWarm(), pino({ level: 'silent' }));
    warm.fill();
    let told = false;
    const waiting = warm.whenWarm('node', 60_000).then(() => (told = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toBe(false);
    release();
    await waiting;
    expect(warm.counts().node).toBe(1);
    await warm.stop();
  });

  it('keeps one process for another memory limit once asked for, and forgets the oldest such limit', async () => {
    const { warm, created, sizes } = pool();
    warm.fill();
    await waitUntil('a warm process', () => warm.counts().node === 1);
    // a miss: the caller starts its own process; one of that size is started later
    expect(warm.take(deployment, 128)).toBeUndefined();
    expect(created).toHaveLength(1);
    await waitUntil('a process for 128 MB', () => warm.otherCounts()['node:128'] === 1, 5_000);
    expect(sizes).toEqual([undefined, 128]);
    const taken = warm.take(deployment, 128);
    expect(taken).toBe(created[1]);
    expect(warm.counts().node).toBe(1); // the default one stays for functions of the default limit
    taken?.afterFirstSettle?.();
    await waitUntil('its replacement', () => warm.otherCounts()['node:128'] === 1);
    // two more limits: 128 MB is the oldest beyond the two kept, its process is stopped
    expect(warm.take(deployment, 512)).toBeUndefined();
    expect(warm.take(deployment, 1024)).toBeUndefined();
    await waitUntil('the two newer sizes', () => Object.keys(warm.otherCounts()).length === 2, 5_000);
    expect(warm.otherCounts()).toEqual({ 'node:512': 1, 'node:1024': 1 });
    expect(created[2]?.state).toBe('exited');
    await warm.stop();
  });
});
