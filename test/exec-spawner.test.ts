/**
 * The exec bridge's spawner (runtimes/exec/spawner.py and its client): runs started through it get the
 * same argv, environment, stdin, process group and signal dispositions as with Node's spawn, and their
 * output and exit status come back.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeLauncher, type Launcher } from '../runtimes/exec/launch.js';
import { Spawner } from '../runtimes/exec/spawner.js';
import { PACKAGE_ROOT } from '../src/shared/paths.js';
import { waitFor, waitUntil } from './helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(PACKAGE_ROOT, 'runtimes', 'exec', 'spawner.py');

/** Whether a process (or with a negative number, a process group) exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Outcome {
  pid: number | undefined;
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: string | null;
  failed: string | undefined;
}

function runWith(
  launcher: Launcher,
  argv: [string, ...string[]],
  body = Buffer.alloc(0),
  env: Record<string, string> = { PATH: '/usr/bin:/bin' },
  onStart?: (pid: number) => void,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {
      pid: undefined,
      stdout: Buffer.alloc(0),
      stderr: '',
      code: null,
      signal: null,
      failed: undefined,
    };
    const stdout: Buffer[] = [];
    const events: Parameters<Launcher['run']>[3] = {
      started(pid) {
        out.pid = pid;
        onStart?.(pid);
      },
      stdout: (chunk) => stdout.push(chunk),
      stderr: (chunk) => (out.stderr += chunk.toString()),
      exited(code, signal) {
        out.code = code;
        out.signal = signal;
      },
      closed() {
        out.stdout = Buffer.concat(stdout);
        resolve(out);
      },
      failed(err) {
        out.failed = err.message;
        resolve(out);
      },
    };
    launcher.run(argv, env, body, events);
  });
}

describe.skipIf(!existsSync(PYTHON))('exec spawner', () => {
  let spawner: Spawner;
  let launcher: Launcher;

  beforeAll(async () => {
    spawner = new Spawner(PYTHON, SCRIPT, os.tmpdir());
    launcher = await waitFor('the spawner to say hello', () => spawner.launcher, 10_000);
  });
  afterAll(() => spawner.close());

  it('passes argv, env, cwd and stdin, and returns stdout, stderr and the exit code', async () => {
    const body = Buffer.alloc(1024 * 1024 + 7, 'x'); // more than a pipe holds
    const script = 'echo "$1 $GREETING $(pwd)" >&2; wc -c; exit 3';
    const out = await runWith(launcher, ['/bin/sh', '-c', script, 'sh', 'first'], body, {
      PATH: '/usr/bin:/bin',
      GREETING: 'hi there',
    });
    expect(out.failed).toBeUndefined();
    expect(out.stdout.toString().trim()).toBe(String(body.length));
    expect(out.stderr).toBe(`first hi there ${os.tmpdir()}\n`);
    expect(out.code).toBe(3);
    expect(out.signal).toBeNull();
  });

  it('gives each run a session and process group of its own and default signal handling', async () => {
    let seen = '';
    const out = await runWith(
      launcher,
      ['/bin/sh', '-c', 'cat /proc/self/stat; grep SigIgn /proc/self/status'],
      undefined,
      undefined,
      (pid) => {
        seen = String(pid);
      },
    );
    const [stat = '', sigIgn = ''] = out.stdout.toString().split('\n');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields: state, ppid, pgrp, session
    expect([fields[2], fields[3]]).toEqual([seen, seen]);
    // the same ignored signals as with Node spawn: not SIGPIPE, which Python itself ignores
    const viaNode = await runWith(nodeLauncher, ['/bin/sh', '-c', 'grep SigIgn /proc/self/status']);
    expect(sigIgn).toBe(viaNode.stdout.toString().trim());
    expect(Number.parseInt(sigIgn.split(/\s+/)[1] ?? '', 16) & (1 << 12)).toBe(0);
  });

  it('a program that does not read its stdin still finishes', async () => {
    const out = await runWith(launcher, ['/bin/sh', '-c', 'echo done'], Buffer.alloc(4 * 1024 * 1024));
    expect([out.stdout.toString(), out.code]).toEqual(['done\n', 0]);
  });

  it('reports the signal that killed a program', async () => {
    const out = await runWith(launcher, ['/bin/sh', '-c', 'kill -TERM $$']);
    expect([out.code, out.signal]).toEqual([null, 'SIGTERM']);
  });

  it('reports a program that cannot be started', async () => {
    const missing = path.join(os.tmpdir(), 'skiff-no-such-program');
    const viaSpawner = await runWith(launcher, [missing]);
    const viaNode = await runWith(nodeLauncher, [missing]);
    expect(viaSpawner.failed).toMatch(/No such file/);
    expect(viaNode.failed).toMatch(/ENOENT/);
  });

  it('kills what a program left in its group when the program exits', async () => {
    let pid = 0;
    const out = await runWith(
      launcher,
      ['/bin/sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $!'],
      undefined,
      undefined,
      (p) => (pid = p),
    );
    const child = Number(out.stdout.toString().trim());
    expect(child).toBeGreaterThan(0);
    await waitUntil('the background child to be gone', () => !alive(child), 3_000);
    expect(alive(-pid)).toBe(false);
  });

  it('when the bridge goes away (its stdin ends), kills the groups of the programs still running', async () => {
    const other = new Spawner(PYTHON, SCRIPT, os.tmpdir());
    const through = await waitFor('the second spawner to say hello', () => other.launcher, 10_000);
    let pid = 0;
    const running = runWith(
      through,
      ['/bin/sh', '-c', 'sleep 30; true'],
      undefined,
      undefined,
      (p) => (pid = p),
    );
    await waitUntil('the run to start', () => pid !== 0);
    other.close();
    await waitUntil("the run's group to be gone", () => !alive(-pid), 3_000);
    expect((await running).failed).toBe('the spawner stopped');
    expect(other.launcher).toBeUndefined();
  });

  it('if the spawner dies, runs in flight fail and later runs are left to Node spawn', async () => {
    const other = new Spawner(PYTHON, SCRIPT, os.tmpdir());
    const through = await waitFor('the third spawner to say hello', () => other.launcher, 10_000);
    let pid = 0;
    const running = runWith(
      through,
      ['/bin/sh', '-c', 'exec sleep 30'],
      undefined,
      undefined,
      (p) => (pid = p),
    );
    await waitUntil('the run to start', () => pid !== 0);
    process.kill(other.pid as number, 'SIGKILL');
    expect((await running).failed).toBe('the spawner stopped');
    expect(other.launcher).toBeUndefined();
    // the bridge kills the groups of failed runs; here the test does
    expect(alive(-pid)).toBe(true);
    process.kill(-pid, 'SIGKILL');
  });
});
