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
// `skiff serve` runs the platform with V8's young generation capped at 16 MiB per semi-space (Node.js 20's
// default). Node.js 22 and later let it grow to 32 MiB per semi-space, and a platform under load then keeps
// far more short-lived Buffers alive between collections: a function flooding its output raised the platform's
// resident memory 68-71 MiB above idle, against 17-18 MiB with the cap. The process replaces itself once
// (same pid) with the flag, unless the flag is already given (NODE_OPTIONS or node's own arguments).
const SEMI_SPACE = '--max-semi-space-size';
if (
  process.argv[2] === 'serve' &&
  typeof process.execve === 'function' &&
  !process.execArgv.some((arg) => arg.startsWith(SEMI_SPACE)) &&
  !(process.env.NODE_OPTIONS ?? '').includes(SEMI_SPACE)
) {
  process.execve(
    process.execPath,
    [process.execPath, ...process.execArgv, `${SEMI_SPACE}=16`, ...process.argv.slice(1)],
    process.env,
  );
}
await import('../dist/src/cli/main.js');
