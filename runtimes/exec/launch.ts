/**
 * How the exec bridge starts one run of the program: either through the spawner (spawner.ts, a small
 * process that posix_spawns; cheap) or, when there is none, with Node's own spawn (which forks the
 * whole bridge). Both start the program with the same argv and environment in a session and process
 * group of its own, give it the body on stdin, and report the same events.
 */
import { spawn } from 'node:child_process';

export interface RunEvents {
  /** The program runs as `pid`, leader of its own process group. */
  started(pid: number): void;
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** The program exited (its group may still hold processes, which keep the pipes open). */
  exited(code: number | null, signal: NodeJS.Signals | null): void;
  /** The program exited and its stdout and stderr are closed: the run is over. */
  closed(): void;
  /** The program could not be started (or its spawner went away): the run is over. */
  failed(err: Error): void;
}

export interface Launcher {
  /**
   * True when the launcher itself kills a run's process group once the program exited, and the groups
   * of programs still running when the bridge goes away (then the bridge need not, and its watchdog
   * need not know them). False: both are the bridge's job.
   */
  readonly guardsGroups: boolean;
  run(
    argv: readonly [string, ...string[]],
    env: Record<string, string>,
    body: Buffer,
    events: RunEvents,
  ): void;
}

/** Node's spawn: one fork of the bridge per run. */
export const nodeLauncher: Launcher = { guardsGroups: false, run: nodeRun };

function nodeRun(
  argv: readonly [string, ...string[]],
  env: Record<string, string>,
  body: Buffer,
  events: RunEvents,
): void {
  const [file, ...args] = argv;
  let over = false;
  const child = spawn(file, args, {
    cwd: process.cwd(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) events.started(child.pid);
  child.on('error', (err) => {
    if (over) return;
    over = true;
    events.failed(err);
  });
  child.stdin.on('error', () => undefined); // the program need not read its stdin
  child.stdin.end(body);
  child.stdout.on('data', (chunk: Buffer) => events.stdout(chunk));
  child.stderr.on('data', (chunk: Buffer) => events.stderr(chunk));
  child.on('exit', (code, signal) => {
    if (!over) events.exited(code, signal);
  });
  child.on('close', () => {
    if (over) return;
    over = true;
    events.closed();
  });
}
