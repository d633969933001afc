/**
 * The bridge's end of the spawner (spawner.py, where the frames are described): a small Python process
 * that starts each run with vfork and exec (Popen). Forking the bridge (Node's spawn) copies the page
 * tables of its whole heap and makes the program tear them down again at exec, more CPU than the run of
 * a small script itself; a vfork from a small process costs a tenth of that.
 *
 * The spawner is optional: until it said hello, and after it went away, `launcher` is undefined and the
 * bridge uses Node's spawn. Runs in flight when it goes away fail (their groups are killed by the bridge).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Launcher, RunEvents } from './launch.js';

const HEADER = 9;
const RUN = 1;
/** The spawner sends at most 64 KiB of output per frame: anything larger means it is broken. */
const MAX_FRAME = 1024 * 1024;
/** The kinds of frame the spawner sends. */
const Out = { HELLO: 0, STARTED: 1, FAILED: 2, STDOUT: 3, STDERR: 4, EXIT: 5, CLOSED: 6 } as const;

export class Spawner {
  private readonly child: ChildProcess;
  private readonly runs = new Map<number, RunEvents>();
  private nextId = 1;
  private ready = false;
  private gone = false;
  private pending: Buffer = Buffer.alloc(0);

  /** Starts `python script` in `cwd` (the function's code folder: every run starts there). */
  constructor(python: string, script: string, cwd: string) {
    this.child = spawn(python, ['-I', '-S', script], { cwd, stdio: ['pipe', 'pipe', 'ignore'], env: {} });
    this.child.on('error', () => this.stop());
    this.child.on('exit', () => this.stop());
    this.child.stdin?.on('error', () => this.stop());
    this.child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk));
    // the protocol socket keeps the bridge alive, not the spawner
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs through this spawner, once it is up; undefined before and after. */
  get launcher(): Launcher | undefined {
    return this.ready && !this.gone ? this.through : undefined;
  }

  /** It kills a run's group when the program exits, and every unreaped run's when its stdin ends. */
  private readonly through: Launcher = {
    guardsGroups: true,
    run: (argv, env, body, events) => this.run(argv, env, body, events),
  };

  private run(
    argv: readonly [string, ...string[]],
    env: Record<string, string>,
    body: Buffer,
    events: RunEvents,
  ): void {
    const id = this.nextId++;
    if (this.nextId > 0xffffffff) this.nextId = 1;
    const spec = Buffer.from(JSON.stringify({ argv, env }));
    const frame = Buffer.allocUnsafe(HEADER + 4);
    frame.writeUInt8(RUN, 0);
    frame.writeUInt32BE(id, 1);
    frame.writeUInt32BE(4 + spec.length + body.length, 5);
    frame.writeUInt32BE(spec.length, 9);
    this.runs.set(id, events);
    this.child.stdin?.write(Buffer.concat([frame, spec, body]));
  }

  private receive(chunk: Buffer): void {
    if (this.gone) return;
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      while (data.length >= HEADER) {
        const size = data.readUInt32BE(5);
        if (size > MAX_FRAME) throw new Error(`a frame of ${size} bytes`);
        if (data.length < HEADER + size) break;
        this.dispatch(data.readUInt8(0), data.readUInt32BE(1), data.subarray(HEADER, HEADER + size));
        data = data.subarray(HEADER + size);
      }
    } catch {
      // what it sent makes no sense: no run can trust it any more (the bridge kills their groups)
      this.child.kill('SIGKILL');
      this.stop();
      return;
    }
    this.pending = data;
  }

  private dispatch(kind: number, id: number, payload: Buffer): void {
    if (kind === Out.HELLO) {
      this.ready = true;
      return;
    }
    const events = this.runs.get(id);
    if (events === undefined) return;
    switch (kind) {
      case Out.STARTED:
        events.started(Number(payload.toString('latin1')));
        break;
      case Out.FAILED:
        this.runs.delete(id);
        events.failed(new Error(payload.toString('utf8')));
        break;
      case Out.STDOUT:
        events.stdout(payload);
        break;
      case Out.STDERR:
        events.stderr(payload);
        break;
      case Out.EXIT: {
        const { code, signal } = JSON.parse(payload.toString('utf8')) as {
          code: number | null;
          signal: NodeJS.Signals | null;
        };
        events.exited(code, signal);
        break;
      }
      case Out.CLOSED:
        this.runs.delete(id);
        events.closed();
        break;
    }
  }

  /** The spawner is gone: runs in flight fail, and later runs use Node's spawn. */
  private stop(): void {
    if (this.gone) return;
    this.gone = true;
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const events of runs) events.failed(new Error('the spawner stopped'));
  }

  /** Ends the spawner's stdin: it kills the groups of the programs still running, and ends. */
  close(): void {
    this.child.stdin?.destroy();
  }
}
