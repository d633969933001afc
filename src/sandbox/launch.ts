import { spawn, type ChildProcess } from 'node:child_process';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Starts an instance process with stdin closed, stdout/stderr piped, and fd 3 a Unix socket (libuv
 * makes `pipe` stdio entries socketpairs) for the runtime protocol. The environment is exactly `env`:
 * nothing of the platform's own environment leaks in.
 */
export function launchProcess(spec: LaunchSpec): ChildProcess {
  return spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: false,
  });
}
