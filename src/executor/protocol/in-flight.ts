/**
 * The invocations in flight on one protocol connection, by wire id. Wire ids are handed out in
 * sequence, so the ids in flight are mostly a window of recent ones: each lives in a slot chosen by
 * the low bits of its id, and an id whose slot is taken by an older one still in flight goes to a
 * small overflow map.
 *
 * Why not a `Map`: under load the map of a connection went from empty to 32 entries and back with
 * every batch of results, and V8 rehashes a `Map` as it grows and shrinks, leaving each old table
 * linked to its successor (for iterators) with its entries in it. Once one old table had been
 * promoted to the old generation, it kept every later table, and every invocation these held, alive
 * through each scavenge: about 1 KB per request was promoted (~1 MB per scavenge at 32
 * connections) and collected only by a full GC. Here a slot is cleared when its invocation leaves
 * and the slots are never reallocated under steady load: nothing keeps a settled invocation alive.
 */

const INITIAL_SLOTS = 64;
/** Beyond this many slots, an id whose slot is taken goes to the overflow map instead. */
const MAX_SLOTS = 4096;
const FREE = -1;

export class InFlightTable<T> {
  private ids: number[] = [];
  private values: (T | undefined)[] = [];
  private mask = 0;
  /** Ids whose slot was taken by an older id still in flight (a long call among many short ones). */
  private readonly overflow = new Map<number, T>();
  private count = 0;

  constructor() {
    this.allocate(INITIAL_SLOTS);
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const slot = id & this.mask;
    // FREE (-1) is no id: a frame naming it finds nothing
    if (this.ids[slot] === id && id !== FREE) return this.values[slot];
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds `id` (which must not be in the table). */
  set(id: number, value: T): void {
    this.count++;
    let slot = id & this.mask;
    if (this.ids[slot] !== FREE && this.mask + 1 < MAX_SLOTS) {
      this.grow();
      slot = id & this.mask;
    }
    if (this.ids[slot] === FREE) {
      this.ids[slot] = id;
      this.values[slot] = value;
    } else {
      this.overflow.set(id, value);
    }
  }

  delete(id: number): boolean {
    const slot = id & this.mask;
    if (this.ids[slot] === id && id !== FREE) {
      this.ids[slot] = FREE;
      this.values[slot] = undefined;
      this.count--;
      return true;
    }
    if (this.overflow.size === 0 || !this.overflow.delete(id)) return false;
    this.count--;
    return true;
  }

  /** The first value that `match` accepts (in no particular order), without copying the table. */
  find(match: (value: T) => boolean): T | undefined {
    for (let slot = 0; slot <= this.mask; slot++) {
      if (this.ids[slot] !== FREE && match(this.values[slot] as T)) return this.values[slot];
    }
    for (const value of this.overflow.values()) if (match(value)) return value;
    return undefined;
  }

  /** Every entry, oldest id first (the order they were added in, as a `Map` would give them). */
  entries(): [number, T][] {
    const out: [number, T][] = [...this.overflow];
    for (let slot = 0; slot <= this.mask; slot++) {
      const id = this.ids[slot] as number;
      if (id !== FREE) out.push([id, this.values[slot] as T]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  clear(): void {
    this.allocate(INITIAL_SLOTS);
    this.overflow.clear();
    this.count = 0;
  }

  private allocate(slots: number): void {
    this.ids = new Array<number>(slots).fill(FREE);
    this.values = new Array<T | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  /** Doubles the slots (at most to MAX_SLOTS) until the ids held collide no more, or up to the limit. */
  private grow(): void {
    const held = this.entries();
    let slots = (this.mask + 1) * 2;
    for (;;) {
      const mask = slots - 1;
      const used = new Set<number>();
      for (const [id] of held) used.add(id & mask);
      if (used.size === held.length || slots >= MAX_SLOTS) break;
      slots *= 2;
    }
    this.allocate(slots);
    this.overflow.clear();
    for (const [id, value] of held) {
      const slot = id & this.mask;
      if (this.ids[slot] === FREE) {
        this.ids[slot] = id;
        this.values[slot] = value;
      } else {
        this.overflow.set(id, value);
      }
    }
  }
}
