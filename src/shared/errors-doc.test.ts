import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.js';

/** The rows of the code table in docs/errors.md: code → status and kind as documented. */
function documented(): Map<string, { status: number; kind: string }> {
  const text = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const table = text.slice(text.indexOf('## The codes'));
  const rows = new Map<string, { status: number; kind: string }>();
  for (const m of table.matchAll(/^\| `(SKIFF_E_[A-Z0-9_]+)` +\| (\d{3}) +\| (user|system) +\|/gm)) {
    const [, code, status, kind] = m;
    if (code !== undefined && status !== undefined && kind !== undefined)
      rows.set(code, { status: Number(status), kind });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('documents every code of the registry, and no other, with its status and kind', () => {
    const docs = documented();
    expect([...docs.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, { status, kind }] of Object.entries(ERROR_CODES)) {
      expect(docs.get(code), code).toEqual({ status, kind });
    }
  });
});
