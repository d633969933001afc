/**
 * Processes the benchmark starts: a controlled environment for every child, readers for /proc (CPU
 * ticks, RSS, PSS, children, machine load), and a registry that stops whatever is still running.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';

/** Every child gets only this environment: no NODE_EXTRA_CA_CERTS, NODE_OPTIONS, PYTHON*, pyenv shims. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8', ...extra };
}

/** The system Python without user site packages (-s) and without PYTHON* variables (-E). */
export const PYTHON = '/usr/bin/python3';
export const PYTHON_FLAGS = ['-s', '-E'];

const running = new Set<ChildProcess>();

export function start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stop(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Last resort on a crash or Ctrl+C: kill every child still running (each by its own pid). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Keeps the last `max` characters a stream wrote, for error messages. */
export function tail(child: ChildProcess, max = 4000): () => string {
  let text = '';
  const add = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

/** Resolves with the first line a child prints on stdout that parses as JSON. */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
  const output = tail(child);
  return new Promise<T>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => fail(new Error(`${what} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          const value = JSON.parse(line) as T;
          cleanup();
          resolve(value);
          return;
        } catch {
          // not the line we wait for
        }
      }
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`${what} exited (${code}) before it was ready: ${output()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A port that was free a moment ago (for servers that need one in their arguments). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Output of a short command, or undefined when it cannot run. */
export function capture(command: string, args: string[], timeoutMs = 10_000): string | undefined {
  const result = spawnSync(command, args, { env: cleanEnv(), timeout: timeoutMs, encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim();
}

export const CLK_TCK = Number(capture('getconf', ['CLK_TCK']) ?? 100) || 100;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process: its own (all threads) plus its reaped children's (cutime + cstime), so
 * per-request processes of the binary runtime count towards the instance that ran them.
 */
export function cpuSeconds(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / CLK_TCK;
}

function statusField(pid: number, field: string): number {
  const text = readText(`/proc/${pid}/status`) ?? '';
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Resident set size in bytes (VmRSS). */
export const rssBytes = (pid: number): number => statusField(pid, 'VmRSS');

/** Proportional set size in bytes: shared pages split between the processes that map them. */
export function pssBytes(pid: number): number {
  const text = readText(`/proc/${pid}/smaps_rollup`) ?? '';
  const match = /^Pss:\s+(\d+) kB/m.exec(text);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`, { withFileTypes: true })) {
    const text = readText(`/proc/${pid}/task/${task.name}/children`) ?? '';
    for (const child of text.trim().split(/\s+/)) if (child !== '') out.push(Number(child));
  }
  return out;
}

/** A process and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length && i < 10_000; i++) {
    try {
      out.push(...childrenOf(out[i] as number));
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}

export interface CpuSample {
  /** Jiffies of the whole machine: busy (everything but idle and iowait), steal, total. */
  busy: number;
  steal: number;
  total: number;
}

export function machineCpu(): CpuSample {
  const line = (readText('/proc/stat') ?? '').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, steal, total };
}

/** Busy and steal share of all cores between two samples, in percent, and the busy CPU seconds. */
export function machineLoad(
  a: CpuSample,
  b: CpuSample,
): { busyPct: number; stealPct: number; busySeconds: number } {
  const total = Math.max(1, b.total - a.total);
  return {
    busyPct: Math.round((1000 * (b.busy - a.busy)) / total) / 10,
    stealPct: Math.round((1000 * (b.steal - a.steal)) / total) / 10,
    busySeconds: (b.busy - a.busy) / CLK_TCK,
  };
}

export const loadAverage = (): number[] => os.loadavg().map((x) => Math.round(x * 100) / 100);

export interface IoCounters {
  /** Bytes passed to write-like system calls (files, sockets, pipes). */
  wchar: number;
  /** Write-like system calls. */
  syscw: number;
  /** Bytes the process caused to be written to storage (page-cache dirtying included). */
  writeBytes: number;
}

/** `/proc/<pid>/io` of a process (root, or its own user), or undefined when unreadable. */
export function ioCounters(pid: number): IoCounters | undefined {
  const text = readText(`/proc/${pid}/io`);
  if (text === undefined) return undefined;
  const get = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { wchar: get('wchar'), syscw: get('syscw'), writeBytes: get('write_bytes') };
}

/** Total size of the files in a folder (not below it), bytes; 0 when it does not exist. */
export function filesBytes(dir: string): number {
  let sum = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      try {
        sum += statSync(`${dir}/${entry.name}`).size;
      } catch {
        // rotated away meanwhile
      }
    }
  } catch {
    // no such folder
  }
  return sum;
}
