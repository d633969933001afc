import type { Evictable, Lease } from './budget.js';
import type { PoolInstance } from './pool-instance.js';
import type { Scaling } from '../model/scaling.js';

/**
 * A pool's idle instances as the budget sees them, least recently used first: ready, nothing in
 * flight, holding a lease; the last `keep` running ones (those that keep the function at
 * minInstances) are marked `kept`, to be stopped only when nothing else will do (budget.ts).
 */
export function idleByAge<I extends PoolInstance<I>>(
  members: Iterable<I>,
  keep: number,
  leases: ReadonlyMap<I, Lease>,
  evict: (instance: I) => void,
): Evictable[] {
  let running = 0;
  const idle: I[] = [];
  for (const i of members) {
    if (i.state === 'stopping' || i.state === 'exited') continue;
    running++;
    if (i.state === 'ready' && i.inFlight === 0 && leases.has(i)) idle.push(i);
  }
  idle.sort((a, b) => a.idleSince - b.idleSince);
  const spare = Math.max(0, running - keep);
  return idle.map((i, n) => ({
    lease: leases.get(i) as Lease,
    idleSince: i.idleSince,
    kept: n >= spare,
    evict: () => evict(i),
  }));
}

/** Idle instances past idleTimeoutMs beyond minInstances, and any beyond maxInstances, oldest first. */
export function expiredIdle<I extends PoolInstance<I>>(
  members: Iterable<I>,
  scaling: Scaling,
  now: number,
): I[] {
  const { minInstances, maxInstances, idleTimeoutMs } = scaling;
  const running = [...members].filter((i) => i.state !== 'stopping' && i.state !== 'exited');
  const idle = running
    .filter((i) => i.state === 'ready' && i.inFlight === 0)
    .sort((a, b) => a.idleSince - b.idleSince);
  let count = running.length;
  const expired: I[] = [];
  for (const instance of idle) {
    const overMax = count > maxInstances;
    const old = now - instance.idleSince >= idleTimeoutMs && count > minInstances;
    if (!overMax && !old) continue;
    count--;
    expired.push(instance);
  }
  return expired;
}

/**
 * Whether a member other than `instance` is ready and not itself yielding, so `instance` may stop
 * and leave the queue to it (a starting member does not count: its start may yet fail).
 */
export function anotherServing<I extends PoolInstance<I>>(
  members: Iterable<I>,
  instance: I,
  yielding: WeakSet<I>,
): boolean {
  for (const m of members) if (m !== instance && m.state === 'ready' && !yielding.has(m)) return true;
  return false;
}

/** How many of `members` are ready. */
export function countReady<I extends PoolInstance<I>>(members: Iterable<I>): number {
  let ready = 0;
  for (const i of members) if (i.state === 'ready') ready++;
  return ready;
}

/** The least-loaded instance with a free slot that is not yielding its room. */
export function leastLoaded<I extends PoolInstance<I>>(
  members: Iterable<I>,
  concurrency: number,
  yielding: WeakSet<I>,
): I | undefined {
  let best: I | undefined;
  for (const i of members) {
    if (!i.accepting || i.inFlight >= concurrency || yielding.has(i)) continue;
    if (best === undefined || i.inFlight < best.inFlight) best = i;
  }
  return best;
}
