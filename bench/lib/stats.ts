/** Small statistics over samples: the benchmark reports medians (and p90) of repeated measurements. */

/** Nearest-rank percentile (p in 0..100) of the samples, or null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export interface Spread {
  n: number;
  median: number | null;
  p90: number | null;
  min: number | null;
  max: number | null;
}

export function spread(samples: readonly number[], digits = 2): Spread {
  const r = (v: number | null) => (v === null ? null : round(v, digits));
  return {
    n: samples.length,
    median: r(median(samples)),
    p90: r(percentile(samples, 90)),
    min: r(samples.length === 0 ? null : Math.min(...samples)),
    max: r(samples.length === 0 ? null : Math.max(...samples)),
  };
}
