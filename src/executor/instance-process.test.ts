/**
 * The process layer on small real Node processes (no sandbox): output lines, the stderr head, how the
 * process ended, a command that cannot start, and fd 3 as a socket.
 */
import { describe, expect, it } from 'vitest';
import { InstanceProcess, describeExit, type ExitStatus } from './instance-process.js';

function run(script: string, hooks: ConstructorParameters<typeof InstanceProcess>[1] = {}) {
  return new InstanceProcess(
    { launch: { command: process.execPath, args: ['-e', script], env: {}, cwd: process.cwd() } },
    hooks,
  );
}

describe('instance process', () => {
  it('passes output lines on, keeps the first stderr lines, and tells how it ended', async () => {
    const lines: string[] = [];
    const exits: ExitStatus[] = [];
    let sawAll: () => void = () => undefined;
    const allLines = new Promise<void>((resolve) => (sawAll = resolve));
    const proc = run(
      "for (let i = 0; i < 30; i++) console.error('e' + i); console.log('out'); process.exitCode = 3",
      {
        line: (stream, line) => {
          lines.push(`${stream}:${line}`);
          if (lines.includes('stdout:out') && lines.includes('stderr:e29')) sawAll();
        },
        exit: (status) => exits.push(status),
      },
    );
    proc.start();
    expect(proc.pid).toBeTypeOf('number');
    const status = await proc.exited();
    expect(status).toEqual({ code: 3, signal: null });
    expect(describeExit(status)).toBe('exit code 3');
    expect(exits).toEqual([status]);
    expect(proc.rssBytes).toBeNull();
    // the streams may end just after the exit
    await allLines;
    expect(lines).toContain('stdout:out');
    expect(lines.filter((line) => line.startsWith('stderr:'))).toHaveLength(30);
    expect(proc.stderrHead).toHaveLength(20);
    expect(proc.stderrHead[0]).toBe('e0');
  });

  it('kills the process', async () => {
    const proc = run('setInterval(() => undefined, 1000)');
    proc.start();
    proc.kill();
    expect(describeExit(await proc.exited())).toBe('signal SIGKILL');
  });

  it('reports a command that cannot start, and counts it as ended', async () => {
    const errors: string[] = [];
    const proc = new InstanceProcess(
      { launch: { command: '/nonexistent/runtime', args: [], env: {}, cwd: process.cwd() } },
      { error: (message) => errors.push(message) },
    );
    proc.start();
    await expect(proc.exited()).resolves.toEqual({ code: null, signal: null });
    expect(errors).toEqual(['could not start /nonexistent/runtime: spawn /nonexistent/runtime ENOENT']);
  });

  it('gives the process fd 3 as the protocol socket', async () => {
    const proc = run("require('node:fs').writeSync(3, 'hello from fd 3'); process.exit(0)");
    const socket = proc.start();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await proc.exited();
    await closed;
    expect(Buffer.concat(received).toString()).toBe('hello from fd 3');
  });
});
