/**
 * Where the CPU of a warm Node call goes: the Node hello under load (32 connections), with `perf
 * record -g` sampling the platform process (the gateway) and the instance's Node process at the same
 * time. Both Nodes run with `--perf-basic-prof --interpreted-frames-native-stack`, so perf names
 * JavaScript frames: the platform through its own flags, the instance through a wrapper script set as
 * `runtimes.node` (perf reads the instance's map from inside its sandbox while it runs). The folded
 * stacks are kept (pruned) for the report's flame charts. Without perf, the gateway alone is profiled
 * with Node's `--cpu-prof`. Sampling costs some CPU: the per-request CPU of this run is a little above
 * the throughput suite's.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../load.js';
import {
  categories,
  compactStacks,
  foldPerfScript,
  pruneFolded,
  topSelf,
  type Category,
  type CompactStacks,
  type Folded,
} from '../lib/folded.js';
import { capture, cpuSeconds, processTree, sleep, start } from '../lib/proc.js';
import { compactPerfMapFile } from '../lib/perf-map.js';
import { round } from '../lib/stats.js';
import { makeDataDir, removeDataDir, SkiffProcess } from '../platform.js';
import { deployRuntimes, SKIFF_RUNTIMES } from '../runtimes.js';
import type { SuiteContext } from './types.js';

export interface ProcessProfile {
  /** CPU (utime + stime) of the process per request during the profiled run, µs. */
  cpuUsPerReq: number;
  samples: number;
  /** The call tree, root (the thread's name) first, pruned below 0.2 % of the samples. */
  stacks: CompactStacks;
  categories: Record<Category, number>;
  top: { frame: string; share: number }[];
}

export interface ProfileResult {
  method: 'perf' | 'cpu-prof';
  frequencyHz: number;
  durationS: number;
  connections: number;
  requests: number;
  rps: number;
  gateway: ProcessProfile | null;
  instance: ProcessProfile | null;
  notes: string[];
}

const FREQUENCY = 999;
const NODE_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack'];

/** The Node process of an instance: below bubblewrap's processes when sandboxed. */
function nodeOf(pid: number): number {
  const tree = processTree(pid);
  const comm = (p: number): string => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return [...tree].reverse().find((p) => comm(p) === 'node') ?? pid;
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  const child = start(command, args);
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, out: Buffer.concat(chunks).toString() });
    }),
  );
}

function profileOf(folded: Folded, cpuUsPerReq: number): ProcessProfile {
  const samples = folded.reduce((sum, [, c]) => sum + c, 0);
  const pruned = pruneFolded(folded);
  const shares = categories(folded);
  for (const key of Object.keys(shares) as Category[]) shares[key] = round(shares[key], 4);
  const top = topSelf(folded, 12).map((t) => ({ frame: t.frame, share: round(t.share, 4) }));
  return {
    cpuUsPerReq: round(cpuUsPerReq, 1),
    samples,
    stacks: compactStacks(pruned),
    categories: shares,
    top,
  };
}

/** A V8 `.cpuprofile` folded into stacks (the fallback without perf). */
function foldCpuProfile(file: string): Folded {
  type ProfileNode = {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${f.url.replace(/^file:\/\/.*?\/dist\//, '')}:${f.lineNumber + 1}`;
    return `${f.functionName || '(anonymous)'}${where}`.replace(/;/g, ',');
  };
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const out: Folded = [];
  for (const [id, samples] of counts) {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n !== undefined && n.callFrame.functionName !== '(root)') frames.push(name(n));
    }
    out.push([['node', ...frames.reverse()].join(';'), samples]);
  }
  return out;
}

export async function profileSuite(ctx: SuiteContext): Promise<ProfileResult> {
  const durationS = ctx.quick ? 3 : 6;
  const connections = 32;
  const notes: string[] = [];
  const perf = capture('perf', ['--version']) !== undefined && process.getuid?.() === 0;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-prof-'));
  chmodSync(scratch, 0o755); // the wrapper must be readable inside the sandbox
  const dataDir = await makeDataDir();
  const extra: string[] = [];
  let flags = [...NODE_FLAGS];
  if (perf) {
    // the instance's Node with the same flags: a wrapper as runtimes.node (bound into the sandbox)
    // <folder>/bin/node: the sandbox binds <folder> (an interpreter's prefix) read-only, and /usr; a
    // Node outside /usr (e.g. fetched into the checkout's .node/) is copied next to the wrapper
    mkdirSync(path.join(scratch, 'bin'), { mode: 0o755 });
    let real = process.execPath;
    if (!real.startsWith('/usr/')) {
      real = path.join(scratch, 'bin', 'node-real');
      copyFileSync(process.execPath, real);
      chmodSync(real, 0o755);
    }
    const wrapper = path.join(scratch, 'bin', 'node');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${real} ${NODE_FLAGS.join(' ')} "$@"\n`, {
      mode: 0o755,
    });
    const config = path.join(scratch, 'skiff.config.json');
    writeFileSync(config, JSON.stringify({ runtimes: { node: wrapper } }));
    extra.push('--config', config);
  } else {
    flags = ['--cpu-prof', '--cpu-prof-dir', scratch];
    notes.push(
      'perf is not available (or not root): the gateway is profiled with --cpu-prof, the instance not at all',
    );
  }
  let platform: SkiffProcess | undefined;
  try {
    platform = await SkiffProcess.start(dataDir, 30_000, extra, flags);
    const node = SKIFF_RUNTIMES.filter((r) => r.runtime === 'node');
    const [deployed] = await deployRuntimes(platform, node);
    if (deployed === undefined || !deployed.info.available)
      throw new Error(`the Node hello did not deploy: ${deployed?.info.reason ?? ''}`);
    const url = `${platform.httpUrl}/${deployed.runtime.fn}`;
    const bridge = await platform.instancePid(deployed.runtime.fn);
    if (bridge === undefined) throw new Error('no instance of the Node hello');
    const instance = nodeOf(bridge);
    await runLoad(ctx.load, url, connections, 2);

    const tree = () => processTree(platform?.pid ?? 0).slice(1);
    const cpuTree = () => tree().reduce((sum, p) => sum + cpuSeconds(p), 0);
    const gw0 = cpuSeconds(platform.pid);
    const all0 = cpuTree();
    const load = runLoad(ctx.load, url, connections, durationS);
    const files = {
      gateway: path.join(scratch, 'gateway.data'),
      instance: path.join(scratch, 'instance.data'),
    };
    let records: Promise<unknown>[] = [];
    if (perf) {
      await sleep(300);
      const record = (pid: number, file: string) =>
        run(
          'perf',
          [
            'record',
            '-F',
            String(FREQUENCY),
            '-g',
            '-p',
            String(pid),
            '-o',
            file,
            '--',
            'sleep',
            String(durationS - 1),
          ],
          (durationS + 20) * 1000,
        );
      records = [record(platform.pid, files.gateway), record(instance, files.instance)];
    }
    const result = await load;
    await Promise.all(records);
    const gatewayUs = ((cpuSeconds(platform.pid) - gw0) * 1e6) / Math.max(1, result.requests);
    const instanceUs = ((cpuTree() - all0) * 1e6) / Math.max(1, result.requests);
    const out: ProfileResult = {
      method: perf ? 'perf' : 'cpu-prof',
      frequencyHz: perf ? FREQUENCY : 1000,
      durationS,
      connections,
      requests: result.requests,
      rps: round(result.rps, 0),
      gateway: null,
      instance: null,
      notes,
    };
    if (perf) {
      // read while the instance runs: perf finds its JIT map inside the sandbox's own /tmp
      for (const [which, us] of [
        ['gateway', gatewayUs],
        ['instance', instanceUs],
      ] as const) {
        // the JIT map without its stale entries, so that a sample is named after the code that ran
        compactPerfMapFile(which === 'gateway' ? `/tmp/perf-${platform.pid}.map` : instanceMap(instance));
        const script = await run('perf', ['script', '-i', files[which]], 120_000);
        const folded = foldPerfScript(script.out);
        if (folded.length === 0) notes.push(`perf recorded no sample of the ${which}`);
        else out[which] = profileOf(folded, us);
      }
    }
    await platform.stop();
    if (!perf) {
      const file = readdirSync(scratch).find((f) => f.endsWith('.cpuprofile'));
      if (file !== undefined) out.gateway = profileOf(foldCpuProfile(path.join(scratch, file)), gatewayUs);
    }
    ctx.log(
      `  profiled ${result.requests} requests (${out.rps} req/s): gateway ${round(gatewayUs, 1)} µs/req, ` +
        `instance ${round(instanceUs, 1)} µs/req (${out.gateway?.samples ?? 0} + ${out.instance?.samples ?? 0} samples)`,
    );
    return out;
  } finally {
    const pid = platform?.pid;
    await platform?.stop();
    if (pid !== undefined) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    rmSync(scratch, { recursive: true, force: true });
    await removeDataDir(dataDir);
  }
}

/** Where the instance's JIT map is: its own /tmp (in its sandbox), named by its pid there. */
function instanceMap(pid: number): string {
  let inner = pid;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('NSpid:'));
    const last = line?.trim().split(/\s+/).at(-1);
    if (last !== undefined && /^\d+$/.test(last)) inner = Number(last);
  } catch {
    // gone: the map is not read either
  }
  return `/proc/${pid}/root/tmp/perf-${inner}.map`;
}
