/**
 * The platform-wide instance budget: the sum of the memory limits of the instances alive and their
 * count stay within `executor.budget`. An instance holds a lease from before it starts until its process
 * has exited. A start someone waits for (a call, a deploy) that does not fit stops idle instances, least
 * recently used first (never one with work in flight; one that keeps its function at minInstances only
 * when no other is idle); when not enough of them are idle, the start waits until enough room frees (an
 * instance exits or becomes idle), in order of arrival. A start nobody waits for (minInstances) takes
 * only free room, after those: one function's minInstances never hold up every other function's starts.
 *
 * Fair shares: starts are owned by a function. Waiting urgent starts go in the order of how many
 * instances their function holds (fewest first, then arrival), so a busy function's next start never
 * comes before a first start of another. A function holding more than its share (the budget split
 * evenly over the functions that hold or wait for room, at least one instance) while another function's
 * start waits is told to yield (`shouldYield`): its pool stops an instance when it finishes its work
 * instead of handing it the next queued call, so one function's busy instances cannot hold the whole
 * budget for ever.
 */
import os from 'node:os';
import type { Config } from '../shared/config.js';

export interface BudgetLimits {
  /** The sum of the memory limits of the instances alive, MiB. */
  memoryMb: number;
  /** Instances alive at once. */
  instances: number;
}

/** The budget and what is taken of it, for the control API. */
export interface BudgetStatus extends BudgetLimits {
  usedMemoryMb: number;
  usedInstances: number;
  /** Starts waiting for room. */
  waiting: number;
}

/** What the host has, for the defaults. */
export interface HostResources {
  totalMemoryMb: number;
  cpus: number;
}

/** Share of the host's memory the instances may take together by default. */
const MEMORY_SHARE = 0.5;
/** Instances per CPU by default (most instances are idle most of the time). */
const INSTANCES_PER_CPU = 32;
const MIN_INSTANCES = 8;

export function hostResources(): HostResources {
  return { totalMemoryMb: Math.floor(os.totalmem() / 1024 / 1024), cpus: os.availableParallelism() };
}

/**
 * `executor.budget` with the unset fields derived from the host: half its memory, 32 instances per CPU
 * (at least 8). The memory is never below what one function may ask for (`sandbox.maxLimits.memoryMb`),
 * so that every deployable function fits on its own.
 */
export function budgetLimits(config: Config, host: HostResources = hostResources()): BudgetLimits {
  const set = config.executor.budget;
  const memoryMb =
    set.memoryMb ??
    Math.max(config.sandbox.maxLimits.memoryMb, Math.floor(host.totalMemoryMb * MEMORY_SHARE));
  const instances = set.instances ?? Math.max(MIN_INSTANCES, INSTANCES_PER_CPU * host.cpus);
  return { memoryMb, instances };
}

/** An instance's hold on the budget, from before its start until its exit. */
export interface Lease {
  readonly memoryMb: number;
  /** Gives the room back (idempotent). */
  release(): void;
}

/** An idle instance the budget may stop to make room. */
export interface Evictable {
  readonly lease: Lease;
  /** When it last finished its work: the least recently used goes first. */
  readonly idleSince: number;
  /**
   * It keeps its function at minInstances: stopped only for a start that someone waits for, and only
   * once every other idle instance is gone (else one function's minInstances could hold the budget).
   */
  readonly kept?: boolean;
  /** Stops it; its lease is released when its process has exited. */
  evict(): void;
}

interface Waiter {
  memoryMb: number;
  /** The function the start is for: the unit of fair shares. */
  owner: string;
  /** Checked when room is found: a start nobody needs any more takes none. */
  wanted: () => boolean;
  /**
   * Whether someone waits for this start (a call, a deploy). One nobody waits for (minInstances)
   * takes only free room, stops no instance and never holds up the starts behind it.
   */
  urgent: () => boolean;
  resolve: (lease: Lease | undefined) => void;
}

export class InstanceBudget {
  private usedMb = 0;
  private count = 0;
  /** Leases of evicted instances not exited yet: room that is coming. */
  private freeingMb = 0;
  private freeingCount = 0;
  private readonly evicted = new WeakSet<Lease>();
  private waiting: Waiter[] = [];
  /** Instances and memory held, by function. */
  private readonly held = new Map<string, { memoryMb: number; instances: number }>();

  constructor(
    readonly limits: BudgetLimits,
    /** The idle instances that may be stopped, in any order. */
    private readonly candidates: () => Iterable<Evictable>,
    private readonly onEvict: (count: number) => void = () => undefined,
  ) {}

  get used(): { memoryMb: number; instances: number } {
    return { memoryMb: this.usedMb, instances: this.count };
  }

  get waiters(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a lease once an instance of `memoryMb` fits, stopping idle instances when that makes
   * room; waits while it cannot. Resolves with undefined when room was found but `wanted` says no.
   * A start that is not `urgent` (nobody waits for it) only takes room that is free, after the urgent ones.
   */
  admit(
    memoryMb: number,
    wanted: () => boolean = () => true,
    urgent: () => boolean = () => true,
    owner = '',
  ): Promise<Lease | undefined> {
    return new Promise((resolve) => {
      this.waiting.push({ memoryMb, owner, wanted, urgent, resolve });
      this.pump();
    });
  }

  /**
   * Whether `owner` should give an instance back when one finishes its work: another function's start
   * waits for room that only busy instances hold, and `owner` holds more than its share.
   */
  shouldYield(owner: string): boolean {
    const mine = this.held.get(owner);
    if (mine === undefined || mine.instances < 2) return false;
    const owners = new Set(this.held.keys());
    let othersWait = false;
    for (const w of this.waiting) {
      if (w.owner === owner || !w.urgent() || !w.wanted()) continue;
      othersWait = true;
      owners.add(w.owner);
    }
    if (!othersWait) return false;
    const shareInstances = Math.max(1, Math.floor(this.limits.instances / owners.size));
    const shareMb = Math.floor(this.limits.memoryMb / owners.size);
    return (
      mine.instances > shareInstances || mine.memoryMb > Math.max(shareMb, mine.memoryMb / mine.instances)
    );
  }

  /** Tries the waiting starts again (an instance became idle). */
  kick(): void {
    if (this.waiting.length > 0) this.pump();
  }

  private pump(): void {
    // urgent starts first, those of functions holding the fewest instances first, then in order of
    // arrival (the first that must wait holds up those behind it); then the others in free room only
    for (const w of this.waiting.filter((x) => !x.wanted())) {
      this.remove(w);
      w.resolve(undefined);
    }
    const byShare = (a: Waiter, b: Waiter) => this.holds(a.owner) - this.holds(b.owner);
    for (const w of this.waiting.filter((x) => x.urgent()).sort(byShare)) {
      if (!this.makeRoom(w.memoryMb)) return; // room that frees goes to it first
      this.remove(w);
      w.resolve(this.lease(w.memoryMb, w.owner));
    }
    for (const w of this.waiting.filter((x) => !x.urgent())) {
      if (!this.fits(w.memoryMb)) continue;
      this.remove(w);
      w.resolve(this.lease(w.memoryMb, w.owner));
    }
  }

  private remove(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private holds(owner: string): number {
    return this.held.get(owner)?.instances ?? 0;
  }

  private fits(memoryMb: number): boolean {
    return this.usedMb + memoryMb <= this.limits.memoryMb && this.count + 1 <= this.limits.instances;
  }

  /** True when `memoryMb` fits now; else stops idle instances if that is enough, and says false. */
  private makeRoom(memoryMb: number): boolean {
    const { limits } = this;
    if (this.fits(memoryMb)) return true;
    // what is still missing once the instances already stopping have exited
    let shortMb = this.usedMb - this.freeingMb + memoryMb - limits.memoryMb;
    let shortCount = this.count - this.freeingCount + 1 - limits.instances;
    if (shortMb <= 0 && shortCount <= 0) return false;
    const idle = [...this.candidates()]
      .filter((c) => !this.evicted.has(c.lease))
      .sort((a, b) => Number(a.kept === true) - Number(b.kept === true) || a.idleSince - b.idleSince);
    const victims: Evictable[] = [];
    for (const c of idle) {
      if (shortMb <= 0 && shortCount <= 0) break;
      victims.push(c);
      shortMb -= c.lease.memoryMb;
      shortCount--;
    }
    // stopping some when that is not enough would only make them start again later
    if (shortMb > 0 || shortCount > 0) return false;
    for (const v of victims) {
      this.evicted.add(v.lease);
      this.freeingMb += v.lease.memoryMb;
      this.freeingCount++;
      v.evict();
    }
    this.onEvict(victims.length);
    return false;
  }

  private lease(memoryMb: number, owner: string): Lease {
    this.usedMb += memoryMb;
    this.count++;
    const mine = this.held.get(owner) ?? { memoryMb: 0, instances: 0 };
    mine.memoryMb += memoryMb;
    mine.instances++;
    this.held.set(owner, mine);
    let held = true;
    const lease: Lease = {
      memoryMb,
      release: () => {
        if (!held) return;
        held = false;
        this.usedMb -= memoryMb;
        this.count--;
        mine.memoryMb -= memoryMb;
        if (--mine.instances === 0) this.held.delete(owner);
        if (this.evicted.has(lease)) {
          this.freeingMb -= memoryMb;
          this.freeingCount--;
        }
        this.kick();
      },
    };
    return lease;
  }
}
