#!/usr/bin/env node
// Skiff supports Node.js 22 and later (scripts/setup.sh fetches Node.js 24 where the machine's is older).
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `skiff: Node.js ${process.versions.node} is not supported; Skiff needs Node.js 22 or later.\n` +
      `  Run it with a newer node, or from a clone run scripts/setup.sh, which fetches Node.js 24 into .node/ ` +
      `(then: export PATH="$PWD/.node/bin:$PATH").\n`,
  );
  process.exit(1);
}
await import('../dist/src/cli/main.js');
