import type { LoadGenerator } from '../load.js';

/** What every suite gets: the mode, the load generator, a time budget and a logger. */
export interface SuiteContext {
  quick: boolean;
  load: LoadGenerator;
  /** Epoch ms after which a suite skips what is left (and says so in its result). */
  deadline: number;
  log(line: string): void;
}

export const secondsLeft = (ctx: SuiteContext): number => (ctx.deadline - Date.now()) / 1000;

/** A system under test: one of Skiff's runtimes, or a baseline server. */
export interface SystemInfo {
  id: string;
  label: string;
  kind: 'skiff' | 'baseline';
  available: boolean;
  /** Why it was not measured. */
  reason?: string;
}
