/** What `skiff fn get` and the API show of a function's running side (Executor.status). */
import type { Pool, RecentError } from './pool.js';

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

/** What `skiff fn get` shows of the running side of one function: `pools` are its versions' pools. */
export function functionStatus(pools: Pool[]): FunctionStatus {
  const now = Date.now();
  const backoff = Math.max(0, ...pools.map((p) => p.backoffUntil));
  return {
    instances: pools.flatMap((pool) =>
      pool.instances.map((i) => ({
        id: i.id,
        version: pool.deployment.version,
        state: i.state,
        pid: i.ownPid,
        sandboxPid: i.pid,
        inFlight: i.inFlight,
        startedAt: i.startedAt?.toISOString() ?? null,
        uptimeMs: i.startedAt === null ? null : now - i.startedAt.getTime(),
        rssBytes: i.rssBytes,
        cgroupMemoryBytes: i.cgroupMemoryBytes,
        served: i.served,
        fromWarmPool: i.fromWarmPool,
      })),
    ),
    queued: sum(pools.map((p) => p.queued)),
    inFlight: sum(pools.map((p) => p.inFlight)),
    coldStarts: sum(pools.map((p) => p.coldStarts)),
    starts: sum(pools.map((p) => p.starts)),
    failures: Math.max(0, ...pools.map((p) => p.failures)),
    backoffUntil: backoff > now ? new Date(backoff).toISOString() : null,
    recentErrors: pools
      .flatMap((p) => p.recentErrors)
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(-10),
  };
}

export interface PoolsOverview {
  instances: Record<string, number>;
  queued: number;
  inFlight: number;
}

/** Instances of the pools by state, and the invocations queued for one and in flight. */
export function poolsOverview(pools: Iterable<Pool>): PoolsOverview {
  const instances: Record<string, number> = {};
  let queued = 0;
  let inFlight = 0;
  for (const pool of pools) {
    for (const i of pool.instances) instances[i.state] = (instances[i.state] ?? 0) + 1;
    queued += pool.queued;
    inFlight += pool.inFlight;
  }
  return { instances, queued, inFlight };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
