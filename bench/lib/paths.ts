import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root, found from this file whether it runs from `bench/` or `dist/bench/`. */
function findRoot(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bench', 'wrk-report.lua'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${import.meta.dirname}`);
}

export const ROOT = findRoot();
export const BENCH = path.join(ROOT, 'bench');
