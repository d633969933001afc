/** How numbers and system names are written in the report's text and tables. */
import { round, type Spread } from '../lib/stats.js';
import { BASELINES } from '../servers/baselines.js';
import type { SystemInfo } from '../suites/types.js';

export const MiB = 1024 * 1024;
export const mib = (bytes: number | null | undefined): string =>
  bytes == null ? 'n/a' : `${round(bytes / MiB, 1)} MiB`;
export const gib = (bytes: number): string => `${round(bytes / (1024 * MiB), 1)} GiB`;
export const num = (v: number | null | undefined, digits = 0): string =>
  v == null
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const ms = (v: number | null | undefined, digits = 2): string =>
  v == null ? 'n/a' : `${num(v, digits)} ms`;
export const times = (v: number | null | undefined): string => (v == null ? 'n/a' : `${num(v, 2)}×`);

export function labelOf(systems: SystemInfo[], id: string): string {
  return systems.find((s) => s.id === id)?.label ?? id;
}

export const baselineLabel = (id: string): string => BASELINES.find((b) => b.id === id)?.label ?? id;

/** The median, p90 and count cells of one table row. */
export function spreadCells(s: Spread | undefined): string {
  return s === undefined || s.n === 0 ? 'n/a | n/a | 0' : `${ms(s.median, 1)} | ${ms(s.p90, 1)} | ${s.n}`;
}
