/**
 * The dialect seam holds: the core names no foreign platform and never imports src/compat/; every
 * platform lives in its folder behind the record in src/compat/index.ts, which server.ts and the CLI use.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from './index.js';

const SRC = path.resolve(import.meta.dirname, '..');
/** The core folders: no platform's name, no import of src/compat/. */
const CORE = ['triggers', 'executor', 'control', 'shared', 'model', 'invoke', 'sandbox', 'store'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** `file:line: text` of every line of the files that matches. */
function hits(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) =>
        pattern.test(line) ? [`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`] : [],
      ),
  );
}

const coreFiles = CORE.flatMap((dir) => filesUnder(path.join(SRC, dir)));
const root = [path.join(SRC, 'server.ts')];

describe('the dialect seam', () => {
  it('finds the core files it checks', () => {
    expect(coreFiles.length).toBeGreaterThan(100);
    expect(coreFiles.some((f) => f.endsWith(path.join('triggers', 'http.ts')))).toBe(true);
  });

  it('leaves no compiled-in platform named in the core or in server.ts', () => {
    const names = Object.keys(DIALECTS);
    expect(names).toContain('tinyfaas');
    for (const name of names) {
      expect(hits([...coreFiles, ...root], new RegExp(name, 'i')), `${name} in the core`).toEqual([]);
    }
  });

  it('keeps src/compat/ out of the core’s imports', () => {
    expect(hits(coreFiles, /from\s+['"][./]*\/compat\/|import\(['"][./]*\/compat\//)).toEqual([]);
  });

  it('reports a hit with its file and line (the check can fail)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-seam-'));
    try {
      const file = path.join(dir, 'x.ts');
      writeFileSync(file, 'const a = 1;\n// the TinyFaaS way\n');
      expect(hits([file], /tinyfaas/i)).toEqual([expect.stringMatching(/x\.ts:2: \/\/ the TinyFaaS way$/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
