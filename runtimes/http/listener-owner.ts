/**
 * Whether the TCP listeners on a port belong to the function's own server: the HTTP bridge proxies
 * to $PORT only when every socket listening on it (any address, IPv4 or IPv6) is held by the server
 * process or a process it started. Inside a sandbox the loopback is the instance's own anyway; this
 * keeps a process outside the server (another tenant on a shared loopback, without a sandbox) from
 * answering first on the port and receiving the function's requests.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const LISTEN = '0A';

/** The inodes of the sockets listening on `port`, from /proc/net/tcp and tcp6. */
export function listeningInodes(port: number, tables: string[]): Set<string> {
  const inodes = new Set<string>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const inode = fields[9];
      if (local === undefined || inode === undefined || fields[3] !== LISTEN) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

/** The server and every process it started (by parent, or still in its process group). */
function serverProcesses(serverPid: number): number[] {
  const parent = new Map<number, number>();
  const group = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(ppid));
      group.set(Number(name), Number(pgrp));
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === serverPid || group.get(p) === serverPid) return true;
      p = parent.get(p) ?? 0;
    }
    return false;
  };
  return [...parent.keys()].filter(ours);
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Whether something listens on `port` and every such socket is the server's (see above). */
export function serverOwnsPort(serverPid: number, port: number): boolean {
  const inodes = listeningInodes(port, [read('/proc/net/tcp'), read('/proc/net/tcp6')]);
  if (inodes.size === 0) return false;
  for (const pid of serverProcesses(serverPid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode !== undefined) inodes.delete(inode);
      } catch {
        // closed meanwhile
      }
    }
    if (inodes.size === 0) return true;
  }
  return false;
}
