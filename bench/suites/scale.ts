/**
 * Density and the control plane at scale: deploy many small (Node hello) functions one after another
 * with default settings (every deploy starts an instance, which the platform keeps or evicts as its
 * settings say), sampling twice a second how many instances are alive and how much memory the
 * platform and its instances hold. The burst stops at a time cap and at a memory cap (so a platform
 * without an instance budget cannot exhaust the machine). Then listing them, stopping with the
 * instances, and restarts with every function deployed and none running (RSS, spawn to listening).
 */
import os from 'node:os';
import { instanceCount, instancesMemory, platformCgroup } from '../lib/cgroup.js';
import { childrenOf, processTree, pssBytes, rssBytes, sleep } from '../lib/proc.js';
import { round, spread, type Spread } from '../lib/stats.js';
import { makeDataDir, pack, removeDataDir, SkiffProcess } from '../platform.js';
import { SKIFF_RUNTIMES } from '../runtimes.js';
import { secondsLeft, type SuiteContext } from './types.js';

export interface DensityResult {
  /** Why the burst ended: every deploy done, or a cap reached. */
  stoppedBy: 'done' | 'time' | 'memory' | 'budget';
  capS: number;
  capMemoryBytes: number;
  /** Wall time of the burst, s. */
  wallS: number;
  /** Most instances alive at once (instance cgroups, or the platform's child processes). */
  peakInstances: number;
  instancesSource: 'cgroup' | 'children';
  /** Most memory held by the platform process and its instances together, bytes: the platform's
   * RSS plus the memory charged to its instance cgroups, or the RSS of its whole process tree. */
  peakMemoryBytes: number;
  memorySource: 'cgroup' | 'rss';
  /** Highest RSS of the platform process alone during the burst, and 1 s after it, bytes. */
  peakPlatformRss: number;
  platformRssAfterBurst: number;
  /** Instances alive 1 s after the burst. */
  instancesAfterBurst: number;
  /** Every sample: seconds since the burst began, deploys done, instances, memory (MiB). */
  samples: [number, number, number, number][];
}

export interface ScaleResult {
  planned: number;
  deployed: number;
  /** Deploys between platform restarts in older runs; 0: one burst, no restart. */
  batch: number;
  /** One deploy (PUT until 201, instance started and ready), ms. */
  deployMs: Spread;
  /** Deploys per second over the burst (wall time). */
  deploysPerSecond: number;
  /** Absent in runs from before the burst was measured. */
  density?: DensityResult;
  /** GET /v1/functions with every function, ms (just after the last deploy, and after a restart). */
  listMs: Spread;
  listAfterRestartMs: Spread;
  listBytes: number;
  /** SIGTERM until exit with the burst's instances still running, ms. */
  stopWithInstancesMs: number;
  /** Restart with every function deployed: SIGTERM until exit, spawn until the ports listen, then
   * until the control API answers the list. */
  restart: { stopMs: Spread; startMs: Spread; startToListMs: Spread };
  /** Platform RSS (and PSS) with 100 / all functions deployed and no instance running, bytes
   * (after a restart; 100: older runs only). */
  rssWith100: number | null;
  rssWithAll: number | null;
  pssWithAll: number | null;
  notes: string[];
}

const SETTLE_MS = 1000;

const MiB = 1024 * 1024;

/** Instances alive and memory held by a platform and its instances, read from outside. */
function sampler(platform: SkiffProcess) {
  const cg = platformCgroup(platform.pid);
  return {
    instancesSource: cg === undefined ? ('children' as const) : ('cgroup' as const),
    memorySource: cg === undefined ? ('rss' as const) : ('cgroup' as const),
    instances: () => (cg === undefined ? childrenOf(platform.pid).length : instanceCount(cg)),
    memory: () => {
      const own = rssBytes(platform.pid);
      const charged = cg === undefined ? null : instancesMemory(cg);
      return charged === null
        ? processTree(platform.pid).reduce((sum, pid) => sum + rssBytes(pid), 0)
        : own + charged;
    },
  };
}

export async function scaleSuite(ctx: SuiteContext): Promise<ScaleResult> {
  const planned = ctx.quick ? 100 : 1000;
  const notes: string[] = [];
  const node = SKIFF_RUNTIMES.find((r) => r.runtime === 'node');
  if (node === undefined) throw new Error('no node runtime');
  const archive = await pack(node.dir);
  const dataDir = await makeDataDir();
  let platform = await SkiffProcess.start(dataDir);
  try {
    // the burst: every deploy in a row, sampled twice a second, within a time and a memory cap
    // 120 s: a platform at the target (15 deploys/s) needs 67 s for 1,000
    const capS = Math.max(10, Math.min(ctx.quick ? 30 : 120, secondsLeft(ctx) - 45));
    const capMemoryBytes = Math.min(4096 * MiB, 0.35 * os.totalmem());
    const probe = sampler(platform);
    const began = performance.now();
    const samples: DensityResult['samples'] = [];
    let peakInstances = 0;
    let peakMemoryBytes = 0;
    let peakPlatformRss = 0;
    let deployed = 0;
    const sample = (): void => {
      const instances = probe.instances();
      const memory = probe.memory();
      peakInstances = Math.max(peakInstances, instances);
      peakMemoryBytes = Math.max(peakMemoryBytes, memory);
      peakPlatformRss = Math.max(peakPlatformRss, rssBytes(platform.pid));
      const t = round((performance.now() - began) / 1000, 1);
      samples.push([t, deployed, instances, round(memory / MiB, 1)]);
    };
    const timer = setInterval(sample, 500);
    const deployMs: number[] = [];
    let stoppedBy: DensityResult['stoppedBy'] = 'done';
    try {
      for (let i = 0; i < planned; i++) {
        if ((performance.now() - began) / 1000 > capS) {
          stoppedBy = secondsLeft(ctx) < 60 ? 'budget' : 'time';
          break;
        }
        if (peakMemoryBytes > capMemoryBytes) {
          stoppedBy = 'memory';
          break;
        }
        const name = `f-${String(i).padStart(4, '0')}`;
        const answer = await platform.deploy(name, archive);
        if (answer.status !== 201)
          throw new Error(`deploy of ${name} answered ${answer.status}: ${answer.body}`);
        deployMs.push(answer.ms);
        deployed++;
        if (deployed % 250 === 0) ctx.log(`  ${deployed} functions deployed`);
      }
    } finally {
      clearInterval(timer);
    }
    const wallS = (performance.now() - began) / 1000;
    sample();
    if (stoppedBy !== 'done') {
      notes.push(
        `the burst stopped after ${deployed} of ${planned} deploys at its ${stoppedBy === 'memory' ? `memory cap (${round(capMemoryBytes / MiB / 1024, 1)} GiB held by the platform and its instances)` : `time cap (${round(capS, 0)} s)`}`,
      );
    }
    ctx.log(
      `  ${deployed} deploys in ${round(wallS, 1)} s (${round(deployed / wallS, 1)}/s), peak ${peakInstances} instances, ` +
        `${round(peakMemoryBytes / MiB, 0)} MiB`,
    );
    await sleep(SETTLE_MS);
    const platformRssAfterBurst = rssBytes(platform.pid);
    const instancesAfterBurst = probe.instances();

    const list = async (): Promise<{ ms: number; bytes: number }> => {
      const answer = await platform.api('/v1/functions');
      if (answer.status !== 200) throw new Error(`list answered ${answer.status}`);
      return { ms: answer.ms, bytes: answer.body.length };
    };
    const listMs: number[] = [];
    let listBytes = 0;
    for (let i = 0; i < 5; i++) {
      const r = await list();
      listMs.push(r.ms);
      listBytes = r.bytes;
    }

    const stopWithInstancesMs = await platform.stop();
    platform = await SkiffProcess.start(dataDir);
    const stops: number[] = [];
    const startsMs: number[] = [];
    const startToList: number[] = [];
    const listAfterRestart: number[] = [];
    for (let i = 0; i < 3; i++) {
      stops.push(await platform.stop());
      platform = await SkiffProcess.start(dataDir);
      startsMs.push(platform.startMs);
      const r = await list();
      startToList.push(platform.startMs + r.ms);
      for (let j = 0; j < 4; j++) listAfterRestart.push((await list()).ms);
    }
    await sleep(SETTLE_MS);
    return {
      planned,
      deployed,
      batch: 0,
      deployMs: spread(deployMs),
      deploysPerSecond: round(deployed / Math.max(0.001, wallS), 1),
      density: {
        stoppedBy,
        capS: round(capS, 0),
        capMemoryBytes: Math.round(capMemoryBytes),
        wallS: round(wallS, 1),
        peakInstances,
        instancesSource: probe.instancesSource,
        peakMemoryBytes,
        memorySource: probe.memorySource,
        peakPlatformRss,
        platformRssAfterBurst,
        instancesAfterBurst,
        samples,
      },
      listMs: spread(listMs),
      listAfterRestartMs: spread(listAfterRestart),
      listBytes,
      stopWithInstancesMs: round(stopWithInstancesMs, 1),
      restart: { stopMs: spread(stops), startMs: spread(startsMs), startToListMs: spread(startToList) },
      rssWith100: null,
      rssWithAll: rssBytes(platform.pid),
      pssWithAll: pssBytes(platform.pid),
      notes,
    };
  } finally {
    await platform.stop();
    await removeDataDir(dataDir);
  }
}
