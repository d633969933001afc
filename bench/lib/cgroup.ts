/**
 * The platform's instance cgroups as the benchmark sees them from outside: the folder the platform
 * makes below its own cgroup (`skiff-<pid>`, one sub-folder per instance, removed when the instance
 * ends), read for OOM kills (cgroup v1 `memory.oom_control`, v2 `memory.events`), the memory charged
 * to all instances, and how many instances have a cgroup. A watcher polls while a run goes on,
 * because an instance's counters go with its folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

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

interface Mount {
  point: string;
  root: string;
  fstype: string;
  options: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
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

export interface PlatformCgroup {
  version: 'v1' | 'v2';
  /** `skiff-<pid>`: the instances' cgroups are its sub-folders. */
  dir: string;
}

/** Where a running platform keeps its instances' memory cgroups, or undefined (no sandbox, no access). */
export function platformCgroup(pid: number): PlatformCgroup | undefined {
  const own = read(`/proc/${pid}/cgroup`);
  if (own === undefined) return undefined;
  const all = mounts();
  const v1 = all.find((m) => m.fstype === 'cgroup' && m.options.includes('memory'));
  let where: string | undefined;
  let mount: Mount | undefined;
  for (const line of own.trim().split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    if (v1 !== undefined && (controllers ?? '').split(',').includes('memory')) {
      where = rest.join(':');
      mount = v1;
    } else if (v1 === undefined && id === '0' && controllers === '') {
      where = rest.join(':');
      mount = all.find((m) => m.fstype === 'cgroup2');
    }
  }
  if (where === undefined || mount === undefined) return undefined;
  // cgroup v2: a platform that could not enable controllers where it was moved into a leaf of its own
  if (path.basename(where) === `skiff-platform-${pid}`) where = path.dirname(where);
  const rel = path.relative(mount.root, where.startsWith(mount.root) ? where : mount.root);
  const dir = path.join(mount.point, rel, `skiff-${pid}`);
  return read(path.join(dir, 'cgroup.procs')) === undefined
    ? undefined
    : { version: v1 === undefined ? 'v2' : 'v1', dir };
}

const instanceDirs = (cg: PlatformCgroup): string[] => {
  try {
    return readdirSync(cg.dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(cg.dir, d.name));
  } catch {
    return [];
  }
};

const oomKills = (cg: PlatformCgroup, dir: string): number =>
  cg.version === 'v1'
    ? field(read(path.join(dir, 'memory.oom_control')), 'oom_kill')
    : field(read(path.join(dir, 'memory.events')), 'oom_kill');

/** Memory charged to every instance of the platform together (hierarchical), bytes. */
export function instancesMemory(cg: PlatformCgroup): number | null {
  const text = read(path.join(cg.dir, cg.version === 'v1' ? 'memory.usage_in_bytes' : 'memory.current'));
  return text === undefined ? null : Number(text.trim());
}

/** How many instance cgroups exist now (one per instance, warm-pool processes included). */
export const instanceCount = (cg: PlatformCgroup): number => instanceDirs(cg).length;

/**
 * Counts OOM kills in a platform's instance cgroups, polling every `intervalMs` (a folder and its
 * counter go when the instance ends). `total()` polls once more and returns every kill seen so far.
 */
export class OomWatch {
  private readonly seen = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  private baseKills = 0;

  constructor(
    private readonly cg: PlatformCgroup | undefined,
    intervalMs = 250,
  ) {
    if (cg !== undefined) {
      this.timer = setInterval(() => this.poll(), intervalMs);
      this.timer.unref();
    }
  }

  private poll(): void {
    if (this.cg === undefined) return;
    for (const dir of instanceDirs(this.cg)) {
      const kills = oomKills(this.cg, dir);
      if (kills > (this.seen.get(dir) ?? 0)) this.seen.set(dir, kills);
    }
    // cgroup v2 counts the kills of the sub-folders in the parent too (unless memory_localevents)
    this.baseKills = Math.max(this.baseKills, oomKills(this.cg, this.cg.dir));
  }

  /** Every OOM kill seen so far, or null when the cgroups cannot be read. */
  total(): number | null {
    if (this.cg === undefined) return null;
    this.poll();
    let sum = 0;
    for (const kills of this.seen.values()) sum += kills;
    return Math.max(sum, this.baseKills);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
