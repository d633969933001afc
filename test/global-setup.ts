import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TMP_PREFIX } from './helpers/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ProcInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  start: number;
  cmdline: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(fields[1]), start: Number(fields[19]), cmdline };
  } catch {
    return undefined; // exited meanwhile
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The folder a process runs in, or undefined if unreadable (exited, zombie, not ours). */
function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** The ancestors of `pid`, nearest first. */
function ancestors(pid: number): ProcInfo[] {
  const chain: ProcInfo[] = [];
  let info = readProc(pid);
  for (let depth = 0; info !== undefined && info.ppid > 0 && depth < 64; depth += 1) {
    info = readProc(info.ppid);
    if (info !== undefined) chain.push(info);
  }
  return chain;
}

/**
 * Processes (instances of any runtime, the programs they start, builds) running in a `skiff-test-`
 * temp folder that belong to this test run:
 * either still below this vitest process, or orphaned (their owner died) after this run started and not
 * below another vitest run (other runs on this machine may legitimately have instances up right now).
 */
function leftoverInstances(runStart: number): string[] {
  // test data folders, and the code slots sandboxed instances run in
  const tmpRoots = [...new Set([os.tmpdir(), realpathSync(os.tmpdir())])].flatMap((dir) => [
    path.join(dir, TMP_PREFIX),
    path.join(dir, 'skiff-slots-'),
  ]);
  const leftovers: string[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const info = readProc(pid);
    if (info === undefined) continue;
    const cwd = cwdOf(pid);
    if (cwd === undefined || !tmpRoots.some((prefix) => cwd.startsWith(prefix))) continue;
    const chain = ancestors(pid);
    const ours = chain.some((p) => p.pid === process.pid);
    const otherRun = chain.some((p) => p.cmdline.includes('vitest'));
    if (ours || (info.start >= runStart && !otherRun)) {
      leftovers.push(`pid ${pid} (cwd ${cwd}): ${info.cmdline}`);
    }
  }
  return leftovers;
}

/**
 * Instances run the compiled bridges and the CLI runs from dist/, so every test run builds first.
 * The teardown fails the run if a test left an instance process behind.
 */
export default function setup(): () => Promise<void> {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  // what the bridges load in the sandbox, bundled: the protocol schemas, the Baetyl shim and its client
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle-schemas.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  const runStart = readProc(process.pid)?.start ?? 0;

  return async function teardown(): Promise<void> {
    // a process killed at the very end of a test may take a moment to disappear
    let leftovers = leftoverInstances(runStart);
    for (let waited = 0; leftovers.length > 0 && waited < 2_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      leftovers = leftoverInstances(runStart);
    }
    if (leftovers.length > 0) {
      // vitest 4 only logs a teardown error ("error during close"); the exit code is what fails the run
      process.exitCode = 1;
      throw new Error(
        `${leftovers.length} instance process(es) left running after the tests:\n  ${leftovers.join('\n  ')}`,
      );
    }
  };
}
