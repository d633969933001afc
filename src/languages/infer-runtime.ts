/**
 * The runtime of a folder whose skiff.json and deploy parameters name none: from the handler's file
 * extension when one is named, else from the entry files each runtime looks for (the first runtime in
 * this order that finds one), else Node.js, the default.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { RuntimeName } from '../model/spec.js';
import { insideDir } from './inside-dir.js';

const BY_EXTENSION: Readonly<Record<string, RuntimeName>> = {
  '.py': 'python',
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
  '.ts': 'node',
  '.mts': 'node',
  '.cts': 'node',
  '.sh': 'binary',
};

/** The files that mark a runtime's folder, in the order they are looked for. */
const MARKERS: readonly (readonly [string, RuntimeName])[] = [
  ['package.json', 'node'],
  ['index.ts', 'node'],
  ['index.mts', 'node'],
  ['index.mjs', 'node'],
  ['index.js', 'node'],
  ['index.cjs', 'node'],
  ['main.py', 'python'],
  ['handler.py', 'python'],
  ['index.py', 'python'],
  ['requirements.txt', 'python'],
  ['fn', 'binary'],
  ['fn.sh', 'binary'],
];

/** How the build log's line about an inferred runtime starts (the CLI prints that line). */
export const RUNTIME_INFERRED = 'runtime (inferred):';

export interface InferredRuntime {
  runtime: RuntimeName;
  /** What it was inferred from, for the build log ("main.py"). */
  from: string;
}

async function isFile(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined))?.isFile() === true;
}

export async function inferRuntime(dir: string, handler: string | null): Promise<InferredRuntime> {
  if (handler !== null) {
    // a handler may name a function after a colon (main.py:handle)
    const file = handler.split(':')[0] ?? handler;
    const byExtension = BY_EXTENSION[path.extname(file).toLowerCase()];
    if (byExtension !== undefined) return { runtime: byExtension, from: `the handler ${file}` };
  }
  for (const [name, runtime] of MARKERS) {
    if (await isFile(insideDir(dir, name))) return { runtime, from: name };
  }
  return { runtime: 'node', from: 'the default (no entry file of any runtime found)' };
}
