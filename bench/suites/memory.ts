/**
 * Memory: the platform process idle (no function), and one idle instance per runtime after one call
 * (RSS, and PSS, which splits shared pages between the processes mapping them). Idle means quiet for
 * as long as a user's platform is between bursts: QUIET_MS, long enough for the platform and its
 * Node instances to give back the young generation they grew (memory.reduceAfterIdleMs and
 * memory.instanceReduceAfterIdleMs at their defaults); the figures 1 s after start and 1 s after the
 * last runtime's call are kept too.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { processTree, pssBytes, rssBytes, sleep } from '../lib/proc.js';
import { makeDataDir, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes } from '../runtimes.js';
import type { SuiteContext, SystemInfo } from './types.js';

export interface MemoryResult {
  systems: SystemInfo[];
  /** The platform process quiet for `quietMs` after start, no function deployed, bytes. */
  platformIdleRss: number;
  platformIdlePss: number;
  /** The same 1 s after start (before the idle collection); absent in results before it. */
  platformStartRss?: number;
  platformStartPss?: number;
  /** How long everything was quiet before the idle figures, ms; absent: 1 s. */
  quietMs?: number;
  /** Per runtime: the instance's process tree idle (quiet for `quietMs` after one call), bytes. */
  instance: Record<string, { rss: number; pss: number; processes: number; rssAfterCall?: number }>;
  /** The platform process with those functions deployed and their instances running, bytes. */
  platformWithInstancesRss: number;
}

const SETTLE_MS = 1000;
/**
 * The quiet times this suite gives the platform and its Node instances (10 s; the defaults are 60 s,
 * which would make the suite wait minutes) and the check's slack (a quarter), plus a margin.
 */
const REDUCE_AFTER_IDLE_MS = 10_000;
const QUIET_MS = 14_000;

export async function memorySuite(_ctx: SuiteContext): Promise<MemoryResult> {
  const dataDir = await makeDataDir();
  const config = `${dataDir}.config.json`; // beside the data directory, not in it
  const memory = { reduceAfterIdleMs: REDUCE_AFTER_IDLE_MS, instanceReduceAfterIdleMs: REDUCE_AFTER_IDLE_MS };
  writeFileSync(config, JSON.stringify({ memory }));
  const platform = await SkiffProcess.start(dataDir, 30_000, ['--config', config]);
  try {
    await sleep(SETTLE_MS);
    const platformStartRss = rssBytes(platform.pid);
    const platformStartPss = pssBytes(platform.pid);
    await sleep(QUIET_MS - SETTLE_MS);
    const platformIdleRss = rssBytes(platform.pid);
    const platformIdlePss = pssBytes(platform.pid);
    const deployed = await deployRuntimes(platform);
    await sleep(SETTLE_MS);
    const trees: Record<string, number[]> = {};
    const afterCall: Record<string, number> = {};
    for (const { runtime, info } of deployed) {
      if (!info.available) continue;
      const pid = await platform.instancePid(runtime.fn);
      if (pid === undefined) continue;
      const tree = processTree(pid);
      trees[runtime.id] = tree;
      afterCall[runtime.id] = tree.reduce((sum, p) => sum + rssBytes(p), 0);
    }
    await sleep(QUIET_MS - SETTLE_MS);
    const instance: MemoryResult['instance'] = {};
    for (const [id, tree] of Object.entries(trees)) {
      instance[id] = {
        rss: tree.reduce((sum, p) => sum + rssBytes(p), 0),
        pss: tree.reduce((sum, p) => sum + pssBytes(p), 0),
        processes: tree.length,
        ...(afterCall[id] === undefined ? {} : { rssAfterCall: afterCall[id] }),
      };
    }
    return {
      systems: deployed.map((d) => d.info),
      platformIdleRss,
      platformIdlePss,
      platformStartRss,
      platformStartPss,
      quietMs: QUIET_MS,
      instance,
      platformWithInstancesRss: rssBytes(platform.pid),
    };
  } finally {
    await platform.stop();
    await removeDataDir(dataDir);
    rmSync(config, { force: true });
  }
}
