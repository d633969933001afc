import { existsSync, realpathSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Message, Plugin } from 'esbuild';
import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import type { BuildRunner } from './build-runner.js';
import type { BuildLog } from './runtime.js';
import { insideDir } from './inside-dir.js';
import { parseNodeHandler } from '../model/node-handler.js';

const DEFAULT_ENTRIES = ['index.ts', 'index.mts', 'index.mjs', 'index.js', 'index.cjs'];
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);
export const BUILD_OUTPUT = '.skiff/handler.mjs';

interface PackageJson {
  main?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readPackageJson(dir: string): Promise<PackageJson | undefined> {
  const file = path.join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PackageJson;
  } catch (err) {
    throw new SkiffError('SKIFF_E_BUILD_FAILED', `package.json is not valid JSON: ${(err as Error).message}`);
  }
}

/** Tried after a handler's file as named, when no file has that exact name (`handler` → `handler.js`). */
const HANDLER_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

function resolveEntry(dir: string, handler: string | null, pkg: PackageJson | undefined): string {
  if (handler !== null) {
    const { file } = parseNodeHandler(handler);
    for (const rel of [file, ...HANDLER_EXTENSIONS.map((ext) => file + ext)]) {
      if (isFile(insideDir(dir, rel))) return path.relative(dir, insideDir(dir, rel));
    }
    throw new SkiffError('SKIFF_E_HANDLER_NOT_FOUND', `handler file ${file} is not in the uploaded folder`);
  }
  const candidates = [...(typeof pkg?.main === 'string' ? [pkg.main] : []), ...DEFAULT_ENTRIES];
  for (const rel of candidates) {
    if (existsSync(insideDir(dir, rel))) return path.relative(dir, insideDir(dir, rel));
  }
  throw new SkiffError(
    'SKIFF_E_HANDLER_NOT_FOUND',
    `no entry file found (looked for ${candidates.join(', ')}); add one or set "handler" in skiff.json`,
  );
}

/** An npm given by an absolute path outside /usr: its installation (`<prefix>/bin/npm` → `<prefix>`). */
function installRoot(command: string): string[] {
  if (!path.isAbsolute(command)) return [];
  let real: string;
  try {
    real = realpathSync(command);
  } catch {
    return [];
  }
  return real.startsWith('/usr/') ? [] : [path.dirname(path.dirname(real))];
}

async function installDependencies(runner: BuildRunner, config: Config, log: BuildLog): Promise<void> {
  const useCi = existsSync(path.join(runner.workDir, 'package-lock.json'));
  const args = [useCi ? 'ci' : 'install', '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier'];
  if (!config.build.npmScripts) args.push('--ignore-scripts');
  // install scripts' output goes to the build log, not only when they fail
  else args.push('--foreground-scripts');
  log(`$ ${config.build.npmCommand} ${args.join(' ')}`);
  const result = await runner.run({
    command: config.build.npmCommand,
    args,
    registry: true,
    readOnly: installRoot(config.build.npmCommand),
    logOutput: true,
    label: 'installing dependencies',
  });
  if (result.timedOut)
    throw new SkiffError(
      'SKIFF_E_BUILD_FAILED',
      `the build did not finish within ${config.build.timeoutMs} ms (build.timeoutMs): npm was killed`,
    );
  if (result.code !== 0)
    throw new SkiffError('SKIFF_E_BUILD_FAILED', `npm install failed (exit code ${String(result.code)})`);
}

const ESBUILD_FLAGS = [
  '--bundle',
  '--format=esm',
  '--platform=node',
  '--target=node20',
  '--packages=external',
  '--sourcemap=inline',
];

/** The esbuild executable of this platform (a static binary), from the installed esbuild package. */
export function esbuildBinary(): string {
  const fromRoot = createRequire(path.join(PACKAGE_ROOT, 'package.json'));
  const fromEsbuild = createRequire(fromRoot.resolve('esbuild'));
  return realpathSync(fromEsbuild.resolve(`@esbuild/${process.platform}-${process.arch}/bin/esbuild`));
}

const outside = (entry: string) =>
  new SkiffError(
    'SKIFF_E_BUILD_FAILED',
    `TypeScript compilation of ${entry} failed (a build sees only the function's own folder)`,
  );

/** esbuild in the build's sandbox: only the function folder and the esbuild binary exist there. */
async function compileInSandbox(runner: BuildRunner, entry: string): Promise<string> {
  const binary = esbuildBinary();
  const result = await runner.run({
    command: binary,
    args: [entry, ...ESBUILD_FLAGS, `--outfile=${BUILD_OUTPUT}`, '--log-level=warning', '--color=false'],
    bare: true,
    readOnly: [path.dirname(binary)],
    logOutput: true,
    label: 'compiling',
  });
  if (result.timedOut)
    throw new SkiffError('SKIFF_E_BUILD_FAILED', 'the build did not finish within build.timeoutMs');
  if (result.code !== 0) throw outside(entry);
  return BUILD_OUTPUT;
}

/**
 * Refuses every file whose real path is outside the function folder (a `with { type: 'text' }` import
 * of /etc/shadow, a symlink out): the containment of esbuild run in-process, without a sandbox.
 */
export function containment(dir: string): Plugin {
  return {
    name: 'skiff-containment',
    setup(b) {
      const root = realpathSync(dir);
      b.onLoad({ filter: /.*/ }, async (args) => {
        const real = await realpath(args.path).catch(() => undefined);
        if (real !== undefined && real.startsWith(root + path.sep)) return undefined;
        return { errors: [{ text: `${args.path} is outside the function folder` }] };
      });
    },
  };
}

/** esbuild in this process (no sandbox): the containment plugin keeps it to the function folder. */
async function compileInProcess(dir: string, entry: string, log: BuildLog): Promise<string> {
  // esbuild loads at the first TypeScript build, not at the platform's start
  const { build, formatMessages } = await import('esbuild');
  try {
    const result = await build({
      absWorkingDir: dir,
      entryPoints: [entry],
      outfile: path.join(dir, BUILD_OUTPUT),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [containment(dir)],
    });
    for (const text of await formatMessages(result.warnings, { kind: 'warning' })) log(text.trimEnd());
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    for (const text of await formatMessages(errors, { kind: 'error' })) log(text.trimEnd());
    throw outside(entry);
  }
  return BUILD_OUTPUT;
}

/**
 * The Node build step: install dependencies, find the entry, compile TypeScript. Returns the entry to
 * load, with `:export` when the handler names an export.
 */
export async function buildNode(
  runner: BuildRunner,
  handler: string | null,
  config: Config,
  log: BuildLog,
  installDeps = true,
): Promise<string> {
  const dir = runner.workDir;
  const pkg = await readPackageJson(dir);
  const deps = { ...pkg?.dependencies, ...pkg?.optionalDependencies };
  if (Object.keys(deps).length > 0) {
    if (installDeps) await installDependencies(runner, config, log);
    else log('dependencies: as uploaded (not installed again)');
  }
  const entry = resolveEntry(dir, handler, pkg);
  const exportName = handler === null ? null : parseNodeHandler(handler).exportName;
  log(exportName === null ? `entry: ${entry}` : `entry: ${entry}, export ${exportName}`);
  const withExport = (file: string) => (exportName === null ? file : `${file}:${exportName}`);
  if (!TS_EXTENSIONS.has(path.extname(entry))) return withExport(entry);
  log(`$ esbuild ${entry} ${ESBUILD_FLAGS.join(' ')}`);
  const built = runner.isolated
    ? await compileInSandbox(runner, entry)
    : await compileInProcess(dir, entry, log);
  return withExport(built);
}
