/**
 * Memory: the platform process idle (no function), and one idle instance per runtime after one call
 * (RSS, and PSS, which splits shared pages between the processes mapping them).
 */
import { processTree, pssBytes, rssBytes, sleep } from '../lib/proc.js';
import { makeDataDir, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes } from '../runtimes.js';
import type { SuiteContext, SystemInfo } from './types.js';

export interface MemoryResult {
  systems: SystemInfo[];
  /** The platform process right after start, no function deployed, bytes. */
  platformIdleRss: number;
  platformIdlePss: number;
  /** Per runtime: the instance's process tree after one call, idle, bytes. */
  instance: Record<string, { rss: number; pss: number; processes: number }>;
  /** The platform process with those functions deployed and their instances running, bytes. */
  platformWithInstancesRss: number;
}

const SETTLE_MS = 1000;

export async function memorySuite(_ctx: SuiteContext): Promise<MemoryResult> {
  const dataDir = await makeDataDir();
  const platform = await SkiffProcess.start(dataDir);
  try {
    await sleep(SETTLE_MS);
    const platformIdleRss = rssBytes(platform.pid);
    const platformIdlePss = pssBytes(platform.pid);
    const deployed = await deployRuntimes(platform);
    await sleep(SETTLE_MS);
    const instance: MemoryResult['instance'] = {};
    for (const { runtime, info } of deployed) {
      if (!info.available) continue;
      const pid = await platform.instancePid(runtime.fn);
      if (pid === undefined) continue;
      const tree = processTree(pid);
      instance[runtime.id] = {
        rss: tree.reduce((sum, p) => sum + rssBytes(p), 0),
        pss: tree.reduce((sum, p) => sum + pssBytes(p), 0),
        processes: tree.length,
      };
    }
    return {
      systems: deployed.map((d) => d.info),
      platformIdleRss,
      platformIdlePss,
      instance,
      platformWithInstancesRss: rssBytes(platform.pid),
    };
  } finally {
    await platform.stop();
    await removeDataDir(dataDir);
  }
}
