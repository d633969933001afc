// Bundles the runtime protocol's schemas (dist/src/executor/protocol/messages.js and zod/mini) into one
// small file for the bridges: they load it at start, where importing zod's many modules would add tens
// of milliseconds to every cold start, and it needs nothing from node_modules inside the sandbox.
// Run after `tsc -p tsconfig.build.json` (npm run build does both).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(root, 'dist', 'src', 'executor', 'protocol', 'messages.js')],
  outfile: path.join(root, 'dist', 'runtimes', 'shared', 'protocol-schemas.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
});
