// Bundles what the bridges load inside the sandbox, where node_modules is not visible. Run after
// `tsc -p tsconfig.build.json` (npm run build does both).
// - The runtime protocol's schemas (dist/src/executor/protocol/messages.js and zod/mini) into one
//   small file: the bridges load it at start, where importing zod's many modules would add tens of
//   milliseconds to every cold start.
// - The Baetyl runtime shim's gRPC client (dist/runtimes/baetyl/runtime-client.js, in place) with
//   @grpc/grpc-js, @grpc/proto-loader, protobufjs and long; the shim imports it once the runtime is
//   spawned, so that loading it overlaps the runtime's start.
// - The shim itself (dist/runtimes/baetyl/shim.js, in place) with the JSON descriptor of
//   proto/baetyl/*.proto (parsed here, once) as SKIFF_BAETYL_PROTOS. Its imports of the client and of
//   the bridges' shared modules (runtimes/shared, the protocol in dist/src) stay imports of the
//   compiled files next to it.
// - The Node bridge (dist/runtimes/node/bridge.js, in place) with the modules it imports, so that a
//   start reads one file, not about twenty (about 10 ms of CPU per start). Each flavor's modules,
//   imported at INIT of a function of that flavor, stay apart as chunks next to it (chunk-*.js);
//   the compiled flavor modules stay too, for whatever imports them directly. The protocol's schemas
//   are found at run time (../shared/protocol-schemas.js), and their fallback stays an import.
// - Not a bundle: the Python bridge's modules compiled to bytecode (runtimes/python/__pycache__, for
//   the default interpreter /usr/bin/python3), which the bridge runs with -B and so never writes
//   itself: without it every Python instance compiled them again at its start.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [path.join(root, 'dist', 'src', 'executor', 'protocol', 'messages.js')],
  outfile: path.join(root, 'dist', 'runtimes', 'shared', 'protocol-schemas.js'),
});

const shimDir = path.join(root, 'dist', 'runtimes', 'baetyl');
// the descriptor, from the compiled protos.js (before the client's bundle replaces what it imports)
const { protoDescriptor } = await import(pathToFileURL(path.join(shimDir, 'protos.js')).href);
const descriptor = JSON.stringify(protoDescriptor(path.join(root, 'proto', 'baetyl')));
// grpc-js is CommonJS and requires Node's built-in modules: give the ES module a require for them
const banner = {
  js: "import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);",
};
await build({
  ...common,
  entryPoints: [path.join(shimDir, 'runtime-client.js')],
  outfile: path.join(shimDir, 'runtime-client.js'),
  allowOverwrite: true,
  banner,
});
/** The shim's relative imports stay imports, but for its own small modules (service-config.js). */
const keepModules = {
  name: 'keep-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = path.resolve(args.resolveDir, args.path);
      if (args.kind !== 'dynamic-import' && path.dirname(target) === shimDir) return undefined;
      return { path: args.path, external: true };
    });
  },
};
await build({
  ...common,
  entryPoints: [path.join(shimDir, 'shim.js')],
  outfile: path.join(shimDir, 'shim.js'),
  allowOverwrite: true,
  define: { SKIFF_BAETYL_PROTOS: descriptor },
  plugins: [keepModules],
});

const nodeDir = path.join(root, 'dist', 'runtimes', 'node');
/** The bridge's fallback import of the compiled schemas stays an import (connection.ts). */
const keepSchemasFallback = {
  name: 'keep-schemas-fallback',
  setup(b) {
    b.onResolve({ filter: /\/executor\/protocol\/messages\.js$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    );
  },
};
const bridge = await build({
  ...common,
  metafile: true,
  entryPoints: [path.join(nodeDir, 'bridge.js')],
  outdir: nodeDir,
  allowOverwrite: true,
  // not minified: the bridge's frames in a function's stack trace keep their names
  minify: false,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  plugins: [keepSchemasFallback],
});
// an earlier build's chunks (this script run again bundles the bundle, and its chunks, anew)
const written = new Set(Object.keys(bridge.metafile.outputs).map((file) => path.basename(file)));
for (const name of readdirSync(nodeDir)) {
  if (name.startsWith('chunk-') && !written.has(name)) rmSync(path.join(nodeDir, name));
}

try {
  execFileSync('/usr/bin/python3', ['-m', 'compileall', '-q', path.join(root, 'runtimes', 'python')], {
    stdio: 'ignore',
    timeout: 60_000,
  });
} catch {
  // no Python here: its instances compile the bridge at their start, as before
}
