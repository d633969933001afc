import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { LoadGenerator } from '../load.js';
import { BASELINES } from '../servers/baselines.js';
import { ROOT } from './paths.js';
import { capture, loadAverage } from './proc.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memTotalBytes: number;
  kernel: string;
  os: string;
  loadAtStart: number[];
}

export interface Versions {
  skiff: string;
  node: string;
  loadGenerator: string;
  baselines: Record<string, string>;
}

export function machineInfo(): MachineInfo {
  const release = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
    } catch {
      return os.type();
    }
  })();
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memTotalBytes: os.totalmem(),
    kernel: os.release(),
    os: release,
    loadAtStart: loadAverage(),
  };
}

export function versions(load: LoadGenerator): Versions {
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
  // read-only git queries: which commit was measured, and whether the tree had local changes
  const commit = capture('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = capture('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  const rev = commit === undefined ? '' : ` (${commit}${dirty ? ', with local changes' : ''})`;
  return {
    skiff: `${pkg.version}${rev}`,
    node: process.version,
    loadGenerator: load.version,
    baselines: Object.fromEntries(BASELINES.map((b) => [b.id, b.version()])),
  };
}
