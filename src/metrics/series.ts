/**
 * The series of one labelled metric, labelled by a function name then one or two labels from fixed
 * sets: the children are kept by function, so that a deleted function's series go with it (`forget`),
 * and their number is capped: past `cap` series, a new function's observations go to the series of the
 * function named `_other` (no function can be named so: names start with a letter or digit), whose
 * number the fixed sets bound. Looking a child up allocates nothing once it exists.
 */

/** The function label of the series past the cap. */
export const OVERFLOW = '_other';

/** Series per metric before new functions' observations go to `_other`. */
export const DEFAULT_SERIES_CAP = 2000;

/** What a prom-client Counter, Gauge or Histogram offers for its labelled children. */
export interface Labelled<C> {
  labels(...values: string[]): C;
  remove(...values: string[]): void;
}

export class BoundedSeries<C> {
  /** function → first fixed label → second fixed label ('' when the metric has one) → child. */
  private readonly byFunction = new Map<string, Map<string, Map<string, C>>>();
  private count = 0;

  /** `fixedLabels`: how many labels follow the function's (0, 1 or 2). */
  constructor(
    private readonly metric: Labelled<C>,
    private readonly fixedLabels: 0 | 1 | 2,
    readonly cap: number = DEFAULT_SERIES_CAP,
  ) {}

  /** Series kept, `_other`'s included. */
  get size(): number {
    return this.count;
  }

  /** The child for (fn[, a[, b]]): `_other`'s when fn's would be a new series past the cap. */
  get(fn: string, a = '', b = ''): C {
    const found = this.byFunction.get(fn)?.get(a)?.get(b);
    if (found !== undefined) return found;
    const over = fn !== OVERFLOW && this.count - this.overflowCount() >= this.cap;
    return this.create(over ? OVERFLOW : fn, a, b);
  }

  /** Removes every series of `fn` (a deleted function). */
  forget(fn: string): void {
    const byA = this.byFunction.get(fn);
    if (byA === undefined) return;
    for (const [a, byB] of byA) {
      for (const b of byB.keys()) {
        this.metric.remove(...this.values(fn, a, b));
        this.count--;
      }
    }
    this.byFunction.delete(fn);
  }

  /** Removes the series of every function `keep` says no to (`_other`'s stay). */
  prune(keep: (fn: string) => boolean): void {
    for (const fn of [...this.byFunction.keys()]) if (fn !== OVERFLOW && !keep(fn)) this.forget(fn);
  }

  /** The functions with series, `_other` included when it has some. */
  functions(): string[] {
    return [...this.byFunction.keys()];
  }

  private values(fn: string, a: string, b: string): string[] {
    return this.fixedLabels === 0 ? [fn] : this.fixedLabels === 1 ? [fn, a] : [fn, a, b];
  }

  private overflowCount(): number {
    let n = 0;
    for (const byB of this.byFunction.get(OVERFLOW)?.values() ?? []) n += byB.size;
    return n;
  }

  private create(fn: string, a: string, b: string): C {
    let byA = this.byFunction.get(fn);
    if (byA === undefined) this.byFunction.set(fn, (byA = new Map()));
    let byB = byA.get(a);
    if (byB === undefined) byA.set(a, (byB = new Map()));
    const existing = byB.get(b);
    if (existing !== undefined) return existing;
    const child = this.metric.labels(...this.values(fn, a, b));
    byB.set(b, child);
    this.count++;
    return child;
  }
}
