/**
 * Writes a run's results: the raw JSON in `bench/results/<timestamp>.json`, and (full runs, or with
 * `--docs`) `docs/performance.md` with its SVG charts in `docs/performance/`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/paths.js';
import { charts } from './report/charts.js';
import { glance } from './report/glance.js';
import type { Results } from './report/results.js';
import { sections } from './report/sections.js';

export function writeJson(results: Results, stamp: string): string {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

export function markdown(r: Results, chartFiles: string[]): string {
  const chart = (name: string, alt: string): string[] =>
    chartFiles.includes(name) ? [`![${alt}](performance/${name})`, ''] : [];
  const out = glance(r);
  out.push(...chart('throughput.svg', 'Requests per second per system at 1 and 32 connections'));
  out.push(...chart('latency.svg', 'p50 and p99 latency per system at 32 connections'));
  out.push(...sections(r, chart));
  return out.join('\n');
}

/** Writes docs/performance.md and its charts; formats the markdown with Prettier when it is installed. */
export async function writeDocs(results: Results): Promise<string> {
  const docs = path.join(ROOT, 'docs');
  const chartDir = path.join(docs, 'performance');
  mkdirSync(chartDir, { recursive: true });
  const files = charts(results, chartDir);
  const file = path.join(docs, 'performance.md');
  let text = markdown(results, files);
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    text = await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    // unformatted is still correct markdown
  }
  writeFileSync(file, text);
  return file;
}
