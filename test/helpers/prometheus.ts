import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** A scrape: parsed by a real Prometheus text parser, and its text. */
export interface Scrape {
  families: Families;
  text: string;
}

/** Parses a Prometheus text exposition (and fails on text the parser refuses). */
export function parseExposition(text: string): Scrape {
  return { families: parsePrometheusTextFormat(text), text };
}

const matches = (labels: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => labels?.[k] === v);

/** The samples of a counter or gauge `name` whose labels include `labels`. */
export function samples(scrape: Scrape, name: string, labels: Record<string, string> = {}) {
  const family = scrape.families.find((f) => f.name === name);
  if (family === undefined) throw new Error(`no metric ${name} in the scrape`);
  return family.metrics.filter((m) => matches(m.labels, labels));
}

/** A counter's or gauge's value, summed over the matching series; 0 if none. */
export function value(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samples(scrape, name, labels).reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

/**
 * A histogram's observation count over the matching series. The parser (prom2json's shape) folds a
 * labelled histogram's series into one, so its `_count` lines are read from the text, the family checked
 * to be a histogram by the parser.
 */
export function histogramCount(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = scrape.families.find((f) => f.name === name);
  if (family?.type !== 'HISTOGRAM') throw new Error(`no histogram ${name} in the scrape`);
  let sum = 0;
  for (const line of scrape.text.split('\n')) {
    const m = new RegExp(`^${name}_count(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (m === null) continue;
    const got = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1] as string, l[2] as string]),
    );
    if (matches(got, labels)) sum += Number(m[2]);
  }
  return sum;
}

/** Names of the functions a scrape has series of, per metric family (histograms' included). */
export function seriesOfFunction(scrape: Scrape, fn: string): string[] {
  return scrape.text.split('\n').filter((line) => !line.startsWith('#') && line.includes(`function="${fn}"`));
}
