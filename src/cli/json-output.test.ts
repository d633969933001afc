import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_OUTPUT, leafCommands } from './json-output.js';
import { buildProgram } from './program.js';

const doc = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

/** The rows of docs/cli.md's `--json` table: command → text (as prettier leaves it, pipes escaped). */
function docRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(skiff [^`]+)` +\| (.*?) +\|$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.set(m[1], m[2].replaceAll('\\|', '|'));
  }
  return rows;
}

describe('what --json prints, per command', () => {
  const program = buildProgram();

  it('is written down for every command, and only for commands that exist', () => {
    expect(Object.keys(JSON_OUTPUT).sort()).toEqual(leafCommands(program).sort());
  });

  it('docs/cli.md lists every command with the same text as its --help', () => {
    expect(Object.fromEntries(docRows())).toEqual(JSON_OUTPUT);
  });

  it("ends each command's --help", () => {
    const invoke = program.commands.find((c) => c.name() === 'invoke');
    let help = '';
    invoke?.configureOutput({ writeOut: (s) => (help += s) });
    invoke?.outputHelp();
    expect(help).toContain(`With --json: ${JSON_OUTPUT['skiff invoke']}`);
  });
});
