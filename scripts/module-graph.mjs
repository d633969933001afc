#!/usr/bin/env node
// Writes the graph of src/'s top-level modules (dependency-cruiser, collapsed to folders) into
// docs/architecture.md between its markers. `--check` exits 1 when the page is out of date instead.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = `${root}docs/architecture.md`;
const START = '<!-- module-graph:start (scripts/module-graph.mjs writes this) -->';
const END = '<!-- module-graph:end -->';

export function moduleGraph() {
  const mermaid = execFileSync(
    `${root}node_modules/.bin/depcruise`,
    ['src', '--config', '.dependency-cruiser.cjs', '--collapse', '^src/[^/]+', '--output-type', 'mermaid'],
    { cwd: root, encoding: 'utf8' },
  );
  // dependency-cruiser numbers the nodes; name them after their folders so the text reads too
  const names = new Map();
  for (const [, id, label] of mermaid.matchAll(/^(\w+)\["([^"]+)"\]$/gm))
    names.set(id, label.replace(/\W/g, '_'));
  const named = mermaid
    .trim()
    .split('\n')
    .map((line) => {
      const node = /^(\w+)\["([^"]+)"\]$/.exec(line);
      if (node) return `  ${names.get(node[1])}["${node[2]}"]`;
      const edge = /^(\w+)-->(\w+)$/.exec(line);
      if (edge) return `  ${names.get(edge[1]) ?? edge[1]} --> ${names.get(edge[2]) ?? edge[2]}`;
      return line;
    })
    .join('\n');
  return `${START}\n\n\`\`\`mermaid\n${named}\n\`\`\`\n\n${END}`;
}

const text = readFileSync(page, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) {
  console.error(`docs/architecture.md has no module-graph markers`);
  process.exit(1);
}
const updated = text.slice(0, from) + moduleGraph() + text.slice(to + END.length);
if (process.argv.includes('--check')) {
  if (updated !== text) {
    console.error('docs/architecture.md: the module graph is out of date; run node scripts/module-graph.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(page, updated);
}
