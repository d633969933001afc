import { spawn, type ChildProcess } from 'node:child_process';
import { attachPrivateNetwork, type PrivateNetwork } from './private-net.js';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * A network namespace of its own with NAT (`network: "outbound"` in bubblewrap): bubblewrap waits
   * until slirp4netns has brought it up (private-net.ts).
   */
  privateNetwork?: PrivateNetwork;
  /**
   * The host side's programs (e.g. bash, setpriv, bubblewrap), which run the instance's own process
   * below them: what `skiff fn get` looks past to show that process.
   */
  hostSide?: string[];
}

/**
 * Starts an instance process with stdin closed, stdout/stderr piped, and fd 3 a Unix socket (libuv
 * makes `pipe` stdio entries socketpairs) for the runtime protocol; with a private network also fds 4
 * and 5, bubblewrap's info and block descriptors. The environment is exactly `env`: nothing of the
 * platform's own environment leaks in.
 */
export function launchProcess(spec: LaunchSpec): ChildProcess {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio:
      spec.privateNetwork === undefined
        ? ['ignore', 'pipe', 'pipe', 'pipe']
        : ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    detached: false,
  });
  if (spec.privateNetwork !== undefined && child.pid !== undefined) {
    attachPrivateNetwork(child, spec.privateNetwork);
  }
  return child;
}
