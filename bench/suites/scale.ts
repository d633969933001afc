/**
 * Scale of the control plane: deploy many small (Node hello) functions one after another, then time
 * listing them and restarting the platform with them. Instances start at deploy and stay up for their
 * idle timeout (5 min by default), so the platform is restarted after every batch of 100 deploys to shed them:
 * a restarted platform starts an instance only on a function's first call. The platform RSS with 100
 * (and with all) functions deployed is read after such a restart, with no instance running.
 */
import { pssBytes, rssBytes, sleep } from '../lib/proc.js';
import { round, spread, type Spread } from '../lib/stats.js';
import { makeDataDir, pack, removeDataDir, SkiffProcess } from '../platform.js';
import { SKIFF_RUNTIMES } from '../runtimes.js';
import { secondsLeft, type SuiteContext } from './types.js';

export interface ScaleResult {
  planned: number;
  deployed: number;
  batch: number;
  /** One deploy (PUT until 201, instance started and ready), ms. */
  deployMs: Spread;
  /** Deploys per second over the deploy loop, restarts between batches left out. */
  deploysPerSecond: number;
  /** GET /v1/functions with every function, ms (just after the last deploy, and after a restart). */
  listMs: Spread;
  listAfterRestartMs: Spread;
  listBytes: number;
  /** SIGTERM until exit with the last batch's instances running, ms. */
  stopWithInstancesMs: number;
  /** Restart with every function deployed: SIGTERM until exit, spawn until the ports listen, then
   * until the control API answers the list. */
  restart: { stopMs: Spread; startMs: Spread; startToListMs: Spread };
  /** Platform RSS (and PSS) with 100 / all functions deployed and no instance running, bytes. */
  rssWith100: number | null;
  rssWithAll: number | null;
  pssWithAll: number | null;
  notes: string[];
}

const SETTLE_MS = 1000;

export async function scaleSuite(ctx: SuiteContext): Promise<ScaleResult> {
  const planned = ctx.quick ? 100 : 1000;
  const batch = 100;
  const notes: string[] = [];
  const node = SKIFF_RUNTIMES.find((r) => r.runtime === 'node');
  if (node === undefined) throw new Error('no node runtime');
  const archive = await pack(node.dir);
  const dataDir = await makeDataDir();
  let platform = await SkiffProcess.start(dataDir);
  try {
    const deployMs: number[] = [];
    let loopMs = 0;
    let rssWith100: number | null = null;
    let deployed = 0;
    for (let i = 0; i < planned; i++) {
      if (secondsLeft(ctx) < 20) {
        notes.push(`stopped after ${deployed} of ${planned} deploys to stay within the time budget`);
        break;
      }
      const name = `f-${String(i).padStart(4, '0')}`;
      const answer = await platform.deploy(name, archive);
      if (answer.status !== 201)
        throw new Error(`deploy of ${name} answered ${answer.status}: ${answer.body}`);
      deployMs.push(answer.ms);
      loopMs += answer.ms;
      deployed++;
      if (deployed % batch === 0 && deployed < planned) {
        await platform.stop();
        platform = await SkiffProcess.start(dataDir);
        if (deployed === 100) {
          await sleep(SETTLE_MS);
          rssWith100 = rssBytes(platform.pid);
        }
      }
      if (deployed % 250 === 0) ctx.log(`  ${deployed} functions deployed`);
    }

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
    if (deployed === 100) rssWith100 = rssBytes(platform.pid);
    return {
      planned,
      deployed,
      batch,
      deployMs: spread(deployMs),
      deploysPerSecond: round(deployed / Math.max(0.001, loopMs / 1000), 1),
      listMs: spread(listMs),
      listAfterRestartMs: spread(listAfterRestart),
      listBytes,
      stopWithInstancesMs: round(stopWithInstancesMs, 1),
      restart: { stopMs: spread(stops), startMs: spread(startsMs), startToListMs: spread(startToList) },
      rssWith100,
      rssWithAll: rssBytes(platform.pid),
      pssWithAll: pssBytes(platform.pid),
      notes,
    };
  } finally {
    await platform.stop();
    await removeDataDir(dataDir);
  }
}
