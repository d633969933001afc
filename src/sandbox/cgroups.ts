/**
 * cgroups for instances: memory, pids and cpu limits, v1 or v2, whichever the machine has. Every
 * cgroup is created below the cgroup the platform itself runs in (read from /proc/self/cgroup), in a
 * folder of this platform (`skiff-<pid>`), and removed when its instance ends.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Limits } from '../model/limits.js';
import { isAlive } from '../shared/processes.js';

export type CgroupVersion = 'v1' | 'v2';
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
type Controller = (typeof CONTROLLERS)[number];

export interface InstanceCgroup {
  /** `cgroup.procs` files the instance's first process writes itself into, before anything runs. */
  procsFiles: string[];
  /** How often the kernel's OOM killer killed a process of this cgroup. */
  oomKills(): number;
  /** Memory charged to the cgroup now (processes and /tmp), bytes. */
  memoryBytes(): number | null;
  /** Changes the limits (a warm-pool process taking on a function's own); the same ones write nothing. */
  setLimits(limits: Limits): void;
  /** Kills what is left in the cgroup and removes it. */
  remove(): Promise<void>;
}

export interface Cgroups {
  version: CgroupVersion;
  /** Where this platform's cgroups are, per controller (one folder for v2). */
  bases: Record<Controller, string>;
  create(id: string, limits: Limits): InstanceCgroup;
  /** Removes this platform's folders once the instances' own are gone (after every instance stopped). */
  close(): Promise<void>;
}

interface Mount {
  point: string;
  root: string;
  fstype: string;
  options: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions] = right.split(' ');
    const root = fields[3];
    const point = fields[4];
    if (root === undefined || point === undefined || fstype === undefined) continue;
    out.push({ point, root, fstype, options: (superOptions ?? '').split(',') });
  }
  return out;
}

/** The CFS period: the quota of `cpus` CPUs is `cpus` × this much CPU time per period. */
const CPU_PERIOD_US = 100_000;

const cpuQuota = (l: Limits): number => Math.round(l.cpus * CPU_PERIOD_US);

/**
 * A cgroup's `setLimits` that writes only when the limits it enforces (memory, pids, cpu) differ from
 * those last written: a warm-pool process taken by a function of the default limits (most) costs its
 * cold start no cgroup writes.
 */
function whenChanged(write: (l: Limits) => void, initial: Limits): (l: Limits) => void {
  write(initial);
  let applied = initial;
  return (l) => {
    if (l.memoryMb === applied.memoryMb && l.pids === applied.pids && cpuQuota(l) === cpuQuota(applied)) {
      return;
    }
    write(l);
    applied = l;
  };
}

/**
 * Writes the quota (`setQuota`), then a burst of as much again where the kernel has CFS burst
 * (Linux 5.14 and later): CPU time an instance left unused in earlier periods, up to one quota, may be
 * spent on top of the quota in a later one. Averaged over time an instance still gets at most its
 * `cpus`, but the short bursts of V8's garbage-collector threads next to the main thread are no longer
 * throttled for the rest of the period. The burst goes to 0 first: the kernel refuses a quota below
 * the burst in place. Without the file (older kernels) the quota stays a hard one.
 */
function withBurst(burstFile: string, quota: number, setQuota: () => void): void {
  const hasBurst = existsSync(burstFile);
  if (hasBurst) writeQuietly(burstFile, '0');
  setQuota();
  if (hasBurst) writeQuietly(burstFile, String(quota));
}

/** Writes a file of an optional cgroup feature; a kernel that refuses it leaves the feature off. */
function writeQuietly(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch {
    // e.g. a burst the kernel's limits (burst + quota within its maximum) refuse
  }
}

/** `controller → path of the platform's own cgroup` from /proc/self/cgroup. */
function ownPaths(): { v1: Map<string, string>; v2: string | undefined } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    const where = rest.join(':');
    if (id === '0' && controllers === '') v2 = where;
    else for (const c of (controllers ?? '').split(',')) v1.set(c, where);
  }
  return { v1, v2 };
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function field(text: string | undefined, name: string): number {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text ?? '');
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

const below = (mount: Mount, own: string) =>
  path.join(mount.point, path.relative(mount.root, own.startsWith(mount.root) ? own : mount.root));

/**
 * Removes cgroup folders, retrying every 20 ms while they are busy (processes still exiting, or
 * instance folders still below a platform folder), `attempts` times at most. With `kill`, every
 * process still listed is killed first.
 */
async function removeDirs(dirs: string[], kill = true, attempts = 50): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    let left = false;
    for (const dir of new Set(dirs)) {
      if (!existsSync(dir)) continue;
      if (kill) {
        for (const pid of (read(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        left = true;
      }
    }
    if (!left) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The platform's own folders, once its instances' are gone; another platform of this process may keep them. */
const removeBases = (dirs: string[]) => removeDirs(dirs, false, 100);

/** Folders that platforms killed without cleaning up left next to ours (their instances are gone). */
function removeStale(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^skiff-(\d+)$/.exec(name);
    if (match === null || isAlive(Number(match[1]))) continue;
    const dir = path.join(parent, name);
    try {
      for (const child of readdirSync(dir, { withFileTypes: true })) {
        if (child.isDirectory()) rmdirSync(path.join(dir, child.name));
      }
      rmdirSync(dir);
    } catch {
      // still busy: left alone
    }
  }
}

function v1(): Cgroups | string {
  const own = ownPaths().v1;
  const all = mounts().filter((m) => m.fstype === 'cgroup');
  const bases = {} as Record<Controller, string>;
  for (const c of CONTROLLERS) {
    const mount = all.find((m) => m.options.includes(c));
    const where = own.get(c);
    if (mount === undefined || where === undefined) return `the cgroup v1 ${c} controller is not mounted`;
    bases[c] = path.join(below(mount, where), `skiff-${process.pid}`);
  }
  for (const dir of Object.values(bases)) {
    removeStale(path.dirname(dir));
    mkdirSync(dir, { recursive: true });
  }
  return {
    version: 'v1',
    bases,
    create(id, limits) {
      const dirs = CONTROLLERS.map((c) => path.join(bases[c], id));
      const [memory, pids, cpu] = dirs as [string, string, string];
      for (const dir of dirs) mkdirSync(dir);
      const write = (l: Limits): void => {
        const bytes = String(l.memoryMb * 1024 * 1024);
        // with swap accounting, swap counts too, so memory cannot spill into swap; memsw may never
        // be below the memory limit, so the order depends on whether the limit grows or shrinks
        const limit = path.join(memory, 'memory.limit_in_bytes');
        const memsw = path.join(memory, 'memory.memsw.limit_in_bytes');
        const hasMemsw = existsSync(memsw);
        const current = Number((read(limit) ?? '0').trim());
        if (hasMemsw && Number(bytes) > current) writeFileSync(memsw, bytes);
        writeFileSync(limit, bytes);
        if (hasMemsw) writeFileSync(memsw, bytes);
        writeFileSync(path.join(pids, 'pids.max'), String(l.pids));
        const quota = cpuQuota(l);
        withBurst(path.join(cpu, 'cpu.cfs_burst_us'), quota, () => {
          writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
          writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(quota));
        });
      };
      const setLimits = whenChanged(write, limits);
      return {
        setLimits,
        procsFiles: dirs.map((dir) => path.join(dir, 'cgroup.procs')),
        oomKills: () => field(read(path.join(memory, 'memory.oom_control')), 'oom_kill'),
        memoryBytes: () => {
          const text = read(path.join(memory, 'memory.usage_in_bytes'));
          return text === undefined ? null : Number(text.trim());
        },
        remove: () => removeDirs(dirs),
      };
    },
    close: () => removeBases(Object.values(bases)),
  };
}

function v2(): Cgroups | string {
  const own = ownPaths().v2;
  const mount = mounts().find((m) => m.fstype === 'cgroup2');
  if (own === undefined || mount === undefined) return 'no cgroup v2 hierarchy';
  const base = below(mount, own);
  const available = (read(path.join(base, 'cgroup.controllers')) ?? '').trim().split(' ');
  const missing = CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) return `cgroup v2 controllers missing here: ${missing.join(', ')}`;
  const enable = (dir: string) =>
    writeFileSync(path.join(dir, 'cgroup.subtree_control'), CONTROLLERS.map((c) => `+${c}`).join(' '));
  try {
    enable(base);
  } catch {
    // "no internal processes": the platform moves itself into a leaf of its own cgroup first
    const leaf = path.join(base, `skiff-platform-${process.pid}`);
    mkdirSync(leaf, { recursive: true });
    writeFileSync(path.join(leaf, 'cgroup.procs'), String(process.pid));
    enable(base);
  }
  const mine = path.join(base, `skiff-${process.pid}`);
  removeStale(base);
  mkdirSync(mine, { recursive: true });
  enable(mine);
  return {
    version: 'v2',
    bases: { memory: mine, pids: mine, cpu: mine },
    create(id, limits) {
      const dir = path.join(mine, id);
      mkdirSync(dir);
      const write = (l: Limits): void => {
        writeFileSync(path.join(dir, 'memory.max'), String(l.memoryMb * 1024 * 1024));
        const swap = path.join(dir, 'memory.swap.max');
        if (existsSync(swap)) writeFileSync(swap, '0');
        writeFileSync(path.join(dir, 'pids.max'), String(l.pids));
        const quota = cpuQuota(l);
        withBurst(path.join(dir, 'cpu.max.burst'), quota, () =>
          writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`),
        );
      };
      const setLimits = whenChanged(write, limits);
      return {
        setLimits,
        procsFiles: [path.join(dir, 'cgroup.procs')],
        oomKills: () => field(read(path.join(dir, 'memory.events')), 'oom_kill'),
        memoryBytes: () => {
          const text = read(path.join(dir, 'memory.current'));
          return text === undefined ? null : Number(text.trim());
        },
        remove: () => removeDirs([dir]),
      };
    },
    close: () => removeBases([mine]),
  };
}

/** cgroups v1 when its memory controller is mounted (hybrid machines too), else v2; or why neither. */
export function openCgroups(): Cgroups | string {
  try {
    const hasV1Memory = mounts().some((m) => m.fstype === 'cgroup' && m.options.includes('memory'));
    return hasV1Memory ? v1() : v2();
  } catch (err) {
    return `cgroups are not usable: ${(err as Error).message}`;
  }
}
