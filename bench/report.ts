/**
 * Writes a run's results: the raw JSON in `bench/results/<timestamp>.json`, and (full runs, or with
 * `--docs`) `docs/performance.md` with its SVG charts in `docs/performance/`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/paths.js';
import { charts } from './report/charts.js';
import { glance } from './report/glance.js';
import type { Results } from './report/results.js';
import { sections } from './report/sections.js';
import { targetsSection } from './report/targets.js';

export function writeJson(results: Results, stamp: string): string {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

export function markdown(r: Results, chartFiles: string[], previous?: Previous): string {
  const chart = (name: string, alt: string): string[] =>
    chartFiles.includes(name) ? [`![${alt}](performance/${name})`, ''] : [];
  const out = glance(r);
  out.push(...targetsSection(r, previous?.results, previous?.name ?? ''));
  out.push(...chart('throughput.svg', 'Requests per second per system at 1 and 32 connections'));
  out.push(...chart('latency.svg', 'p50 and p99 latency per system at 32 connections'));
  out.push(...sections(r, chart, previous?.results));
  return out.join('\n');
}

/** An earlier run to compare with: its results and its file's name. */
export interface Previous {
  name: string;
  results: Results;
}

/**
 * The run to compare with: `file` when given, else the newest full run in bench/results whose file
 * name (its start time) sorts before `before`.
 */
export function findPrevious(before: string, file?: string): Previous | undefined {
  const dir = path.join(ROOT, 'bench', 'results');
  const read = (f: string): Results | undefined => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as Results;
    } catch {
      return undefined;
    }
  };
  if (file !== undefined) {
    const results = read(file);
    if (results === undefined) throw new Error(`cannot read ${file}`);
    return { name: path.relative(ROOT, path.resolve(file)), results };
  }
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json') && f < before);
  } catch {
    return undefined;
  }
  for (const name of names.sort().reverse()) {
    const results = read(path.join(dir, name));
    if (results?.mode === 'full') return { name: `bench/results/${name}`, results };
  }
  return undefined;
}

/** Writes docs/performance.md and its charts; formats the markdown with Prettier when it is installed. */
export async function writeDocs(results: Results, previous?: Previous): Promise<string> {
  const docs = path.join(ROOT, 'docs');
  const chartDir = path.join(docs, 'performance');
  mkdirSync(chartDir, { recursive: true });
  const files = charts(results, chartDir);
  const file = path.join(docs, 'performance.md');
  let text = markdown(results, files, previous);
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
