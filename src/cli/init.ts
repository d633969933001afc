/**
 * `skiff init <dir> --runtime node|typescript|python|shell`: writes a working function from the
 * templates shipped in `templates/<runtime>/`: its code, a test that runs without Skiff, `skiff.json`,
 * `.skiffignore` and a README.
 */
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { NAME_PATTERN } from '../model/names.js';
import { closest } from '../shared/suggest.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson, withHint } from './output.js';

export const INIT_RUNTIMES = ['node', 'typescript', 'python', 'shell'] as const;
export type InitRuntime = (typeof INIT_RUNTIMES)[number];

/** Other names people type for the same templates. */
const ALIASES: Readonly<Record<string, InitRuntime>> = {
  js: 'node',
  javascript: 'node',
  nodejs: 'node',
  ts: 'typescript',
  py: 'python',
  python3: 'python',
  sh: 'shell',
  binary: 'shell',
};

/** How each template's test is run, from inside the folder (printed, and in its README). */
export const TEST_COMMANDS: Readonly<Record<InitRuntime, string>> = {
  node: 'node --test',
  typescript: 'node --test   # Node.js 22.18 or later; older: npx tsx --test index.test.ts',
  python: '/usr/bin/python3 -m unittest',
  shell: './test.sh',
};

/** Files written executable (the templates' mode is not trusted to survive packing). */
const EXECUTABLE = new Set(['fn.sh', 'test.sh']);

interface InitOptions {
  runtime?: string;
  name?: string;
  force?: boolean;
}

export function registerInit(program: Command): void {
  withExamples(
    program
      .command('init')
      .description('write a new function (code, a test, skiff.json, .skiffignore, README) into a folder')
      .argument('<dir>', 'the folder to create (or an empty one)')
      .requiredOption('--runtime <runtime>', `the language: ${INIT_RUNTIMES.join(', ')}`)
      .option('--name <name>', 'function name written to skiff.json (default: the folder name)')
      .option('--force', 'write into a folder that is not empty (files of the same name are replaced)')
      .action((dir: string, opts: InitOptions, cmd: Command) => init(dir, opts, cmd)),
    'skiff init hello --runtime node',
    'skiff init api --runtime python --name orders',
    'skiff init . --runtime shell --force',
  );
}

export function parseInitRuntime(value: string): InitRuntime {
  const lower = value.toLowerCase();
  const known = (INIT_RUNTIMES as readonly string[]).includes(lower)
    ? (lower as InitRuntime)
    : ALIASES[lower];
  if (known !== undefined) return known;
  const guess = closest(value, [...INIT_RUNTIMES, ...Object.keys(ALIASES)]);
  const suggestion = guess === undefined ? undefined : (ALIASES[guess] ?? guess);
  throw withHint(
    usageError(`unknown runtime "${value}": use ${INIT_RUNTIMES.join(', ')}`, 'skiff init'),
    suggestion === undefined
      ? 'run `skiff init --help` for usage'
      : `did you mean \`--runtime ${suggestion}\`? Run \`skiff init --help\` for usage`,
  );
}

/** `templates/` beside the nearest package.json named skiff above this file (from src/ and from dist/). */
export function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('the function templates (templates/) are missing from this install');
    dir = parent;
  }
}

function nameFor(dir: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!NAME_PATTERN.test(given)) {
      throw usageError(`--name ${given}: use 1-63 lower-case letters, digits and dashes`, 'skiff init');
    }
    return given;
  }
  const base = path.basename(path.resolve(dir)).toLowerCase();
  if (!NAME_PATTERN.test(base)) {
    throw withHint(
      usageError(
        `the folder name "${base}" is not a function name (1-63 lower-case letters, digits and dashes)`,
      ),
      'give one with --name, e.g. `--name hello`',
    );
  }
  return base;
}

async function refuseNonEmpty(dir: string, force: boolean): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw usageError(`${dir} exists and is not a folder`, 'skiff init');
  const entries = await readdir(dir);
  if (entries.length > 0 && !force) {
    throw withHint(
      usageError(`${dir} is not empty (${entries.length} entries)`, 'skiff init'),
      'pick a new or empty folder, or add --force to write the template files into it (files of the same name are replaced)',
    );
  }
}

export interface InitResult {
  dir: string;
  name: string;
  runtime: InitRuntime;
  files: string[];
  test: string;
}

/** Writes the template of `runtime` into `dir` (created when missing); returns what was written. */
export async function writeTemplate(
  dir: string,
  runtime: InitRuntime,
  name: string,
  force: boolean,
): Promise<InitResult> {
  await refuseNonEmpty(dir, force);
  const from = path.join(templatesDir(), runtime);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const file of (await readdir(from)).sort()) {
    let text = await readFile(path.join(from, file), 'utf8');
    if (file === 'skiff.json') {
      // the name first, then the template's fields
      text = `${JSON.stringify({ name, ...(JSON.parse(text) as object) }, null, 2)}\n`;
    } else if (file === 'README.md') {
      text = text.replaceAll('{{name}}', name);
    }
    const to = path.join(dir, file);
    // --force replaces a file of the same name: a symbolic link is replaced, never written through
    // (a cloned folder's `fn.sh -> ~/.bashrc` would have been overwritten and made executable)
    const existing = await lstat(to).catch(() => undefined);
    if (existing !== undefined && !existing.isDirectory()) await unlink(to);
    await writeFile(to, text, { flag: 'wx' });
    if (EXECUTABLE.has(file)) await chmod(to, 0o755);
    files.push(file);
  }
  return { dir: path.resolve(dir), name, runtime, files, test: TEST_COMMANDS[runtime] };
}

async function init(dir: string, opts: InitOptions, cmd: Command): Promise<void> {
  const { json } = globalOptions(cmd);
  const runtime = parseInitRuntime(opts.runtime ?? '');
  const name = nameFor(dir, opts.name);
  const result = await writeTemplate(dir, runtime, name, opts.force === true);
  if (json) {
    printJson(result);
    return;
  }
  console.log(`✔ Created ${name} (${runtime}) in ${dir}: ${result.files.join(', ')}`);
  console.log('Next:');
  console.log(`  cd ${dir} && ${result.test}`);
  console.log(`  skiff fn deploy ${dir}        # deploy it once`);
  console.log(`  skiff dev ${dir}              # deploy, then redeploy on every save and follow its logs`);
}
