import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build, formatMessages, type Message } from 'esbuild';
import type { Config } from '../../shared/config.js';
import { SkiffError } from '../../shared/errors.js';
import { runCommand } from './run-command.js';

const DEFAULT_ENTRIES = ['index.ts', 'index.mts', 'index.mjs', 'index.js', 'index.cjs'];
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);
export const BUILD_OUTPUT = '.skiff/handler.mjs';

export type BuildLog = (line: string) => void;

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

function insideDir(dir: string, rel: string): string {
  const full = path.resolve(dir, rel);
  if (!full.startsWith(dir + path.sep)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `handler ${JSON.stringify(rel)} points outside the function folder`,
    );
  }
  return full;
}

function resolveEntry(dir: string, handler: string | null, pkg: PackageJson | undefined): string {
  const candidates =
    handler !== null ? [handler] : [...(typeof pkg?.main === 'string' ? [pkg.main] : []), ...DEFAULT_ENTRIES];
  for (const rel of candidates) {
    if (existsSync(insideDir(dir, rel))) return path.relative(dir, insideDir(dir, rel));
  }
  throw new SkiffError(
    'SKIFF_E_HANDLER_NOT_FOUND',
    handler !== null
      ? `handler file ${handler} is not in the uploaded folder`
      : `no entry file found (looked for ${candidates.join(', ')}); add one or set "handler" in skiff.json`,
  );
}

async function installDependencies(dir: string, config: Config, log: BuildLog): Promise<void> {
  const useCi = existsSync(path.join(dir, 'package-lock.json'));
  const args = [useCi ? 'ci' : 'install', '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier'];
  if (!config.build.npmScripts) args.push('--ignore-scripts');
  log(`$ ${config.build.npmCommand} ${args.join(' ')}`);
  const result = await runCommand(config.build.npmCommand, args, dir, config.build.timeoutMs);
  for (const line of result.output.split('\n')) if (line.trim() !== '') log(line);
  if (result.timedOut)
    throw new SkiffError(
      'SKIFF_E_BUILD_FAILED',
      `npm install did not finish within ${config.build.timeoutMs} ms`,
    );
  if (result.code !== 0)
    throw new SkiffError('SKIFF_E_BUILD_FAILED', `npm install failed (exit code ${String(result.code)})`);
}

async function compileTypeScript(dir: string, entry: string, log: BuildLog): Promise<string> {
  log(`$ esbuild ${entry} --bundle --format=esm --platform=node --packages=external`);
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
    });
    for (const text of await formatMessages(result.warnings, { kind: 'warning' })) log(text.trimEnd());
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    for (const text of await formatMessages(errors, { kind: 'error' })) log(text.trimEnd());
    throw new SkiffError('SKIFF_E_BUILD_FAILED', `TypeScript compilation of ${entry} failed`);
  }
  return BUILD_OUTPUT;
}

/** The Node build step: install dependencies, find the entry, compile TypeScript. Returns the entry to load. */
export async function buildNode(
  dir: string,
  handler: string | null,
  config: Config,
  log: BuildLog,
): Promise<string> {
  const pkg = await readPackageJson(dir);
  const deps = { ...pkg?.dependencies, ...pkg?.optionalDependencies };
  if (Object.keys(deps).length > 0) await installDependencies(dir, config, log);
  const entry = resolveEntry(dir, handler, pkg);
  log(`entry: ${entry}`);
  return TS_EXTENSIONS.has(path.extname(entry)) ? compileTypeScript(dir, entry, log) : entry;
}
