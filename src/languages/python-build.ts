import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { BuildRunner, BuildStep } from './build-runner.js';
import type { BuildLog, Builder } from './runtime.js';
import { insideDir } from './inside-dir.js';

/** Entry files tried in this order when the spec names no handler. */
export const PYTHON_DEFAULT_ENTRIES = ['main.py', 'handler.py', 'index.py'];
export const PYTHON_DEFAULT_FUNCTION = 'handle';
/** Where `pip install --target` puts requirements.txt; the bridge puts it on sys.path. */
export const PYTHON_PACKAGES_DIR = '.skiff/python';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Compiles one file without writing .pyc files; prints the compiler's message on a syntax error. */
const COMPILE_CHECK = [
  'import sys, traceback',
  'p = sys.argv[1]',
  'src = open(p, "rb").read()',
  'try:',
  '    compile(src, p, "exec", dont_inherit=True)',
  'except (SyntaxError, ValueError) as e:',
  '    sys.stdout.write("".join(traceback.format_exception_only(type(e), e)))',
  '    sys.exit(1)',
].join('\n');

/** `file.py` or `file.py:function` → its parts; anything else is an invalid spec. */
export function parsePythonHandler(handler: string): { file: string; fn: string } {
  const colon = handler.lastIndexOf(':');
  const file = colon < 0 ? handler : handler.slice(0, colon);
  const fn = colon < 0 ? PYTHON_DEFAULT_FUNCTION : handler.slice(colon + 1);
  if (!file.endsWith('.py') || !IDENTIFIER.test(fn)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `python handler ${JSON.stringify(handler)} must look like "main.py" or "main.py:function"`,
    );
  }
  return { file, fn };
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

function resolveEntry(dir: string, handler: string | null): { file: string; fn: string } {
  if (handler !== null) {
    const parsed = parsePythonHandler(handler);
    if (!isFile(insideDir(dir, parsed.file))) {
      throw new SkiffError(
        'SKIFF_E_HANDLER_NOT_FOUND',
        `handler file ${parsed.file} is not in the uploaded folder`,
      );
    }
    return { file: path.relative(dir, insideDir(dir, parsed.file)), fn: parsed.fn };
  }
  const file = PYTHON_DEFAULT_ENTRIES.find((rel) => isFile(path.join(dir, rel)));
  if (file === undefined) {
    throw new SkiffError(
      'SKIFF_E_HANDLER_NOT_FOUND',
      `no entry file found (looked for ${PYTHON_DEFAULT_ENTRIES.join(', ')}); add one or set "handler" in skiff.json`,
    );
  }
  return { file, fn: PYTHON_DEFAULT_FUNCTION };
}

async function run(
  what: string,
  step: BuildStep,
  runner: BuildRunner,
  config: Config,
  log: BuildLog,
  echo = true,
): Promise<string> {
  if (echo) log(`$ ${step.command} ${step.args.join(' ')}`);
  // its lines go to the build log as they come (the runner's logOutput)
  const result = await runner.run({ ...step, logOutput: true });
  const lines = result.output.split('\n').filter((line) => line.trim() !== '');
  if (result.timedOut) {
    throw new SkiffError(
      'SKIFF_E_BUILD_FAILED',
      `${what} did not finish within ${config.build.timeoutMs} ms (build.timeoutMs)`,
    );
  }
  if (result.code !== 0) {
    const how = result.code === null ? `could not run ${step.command}` : `exit code ${String(result.code)}`;
    throw new SkiffError(
      'SKIFF_E_BUILD_FAILED',
      `${what} failed (${how})${echo ? '' : `: ${lines.join('\n')}`}`,
    );
  }
  return result.output;
}

/** Absolute paths named in the operator's pip arguments (`--find-links /srv/wheels`, `-f=/x`). */
function pipPaths(args: string[]): string[] {
  return args.map((arg) => arg.replace(/^-[^=]*=/, '')).filter((arg) => path.isAbsolute(arg));
}

/**
 * The Python build step: find the entry, `pip install --target .skiff/python -r requirements.txt`
 * when there is one, and check that the entry compiles. Returns `file.py:function` for the bridge.
 */
export const buildPython: Builder = async ({ runner, handler, config, log, installDependencies }) => {
  const dir = runner.workDir;
  const python = config.runtimes.python;
  // the spec's handler, a compatibility flavor's mapped onto Skiff's form, or the flavor's default
  const entry = resolveEntry(dir, handler);
  log(`entry: ${entry.file}, function ${entry.fn}`);
  if (isFile(path.join(dir, 'requirements.txt')) && !installDependencies) {
    log('requirements.txt: as uploaded (not installed again)');
  } else if (isFile(path.join(dir, 'requirements.txt'))) {
    // -I (isolated): neither the work folder nor a user site on sys.path, no PYTHON* variables, so
    // nothing a build wrote into its folder is imported by the platform's own steps
    const args = [
      '-I',
      '-m',
      'pip',
      'install',
      '--target',
      path.join(runner.dir, PYTHON_PACKAGES_DIR),
      '--no-input',
      '--disable-pip-version-check',
      '--no-cache-dir',
      '--no-compile',
      '-r',
      'requirements.txt',
      ...config.build.pipArgs,
    ];
    const step = {
      command: python,
      args,
      registry: true,
      readOnly: pipPaths(config.build.pipArgs),
      label: 'installing dependencies',
    };
    await run('pip install', step, runner, config, log);
  }
  log(`compiling ${entry.file}`);
  const check = { command: python, args: ['-I', '-c', COMPILE_CHECK, entry.file], label: 'compiling' };
  await run(`compiling ${entry.file}`, check, runner, config, log, false);
  return `${entry.file}:${entry.fn}`;
};
