/** What `skiff fn get` and the API show of a function's running side (Executor.status). */
import type { RecentError } from './pool.js';

export interface InstanceStatus {
  id: string;
  version: number;
  state: string;
  /** The bridge inside the sandbox, as the host sees it; `sandboxPid`: the sandbox's (bubblewrap). */
  pid: number | null;
  sandboxPid: number | null;
  inFlight: number;
  startedAt: string | null;
  uptimeMs: number | null;
  /** VmRSS of `pid`; `cgroupMemoryBytes`: memory.current of its cgroup (what its limit counts). */
  rssBytes: number | null;
  cgroupMemoryBytes: number | null;
  served: number;
  fromWarmPool: boolean;
}

/** What `skiff fn get` and the API show of a function's running side. */
export interface FunctionStatus {
  instances: InstanceStatus[];
  queued: number;
  inFlight: number;
  coldStarts: number;
  starts: number;
  /** Consecutive failures; at 2 and more, starts back off. */
  failures: number;
  /** Set while a crash loop holds back the next start. */
  backoffUntil: string | null;
  recentErrors: RecentError[];
}
