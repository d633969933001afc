/**
 * Where a Node function's syntax error is. Node reports a syntax error in an ES module without its
 * file or line ("Unexpected token ';'"), so when a version fails to load with one, esbuild parses the
 * entry and the local files it imports (npm packages stay external) and names each error as
 * `file:line:column: message`. Like a TypeScript build, it runs in the build's sandbox, or in-process
 * with the containment plugin when there is none. Nothing is written.
 */
import path from 'node:path';
import type { Message } from 'esbuild';
import type { BuildRunner } from './build-runner.js';
import { containment, esbuildBinary } from './node-build.js';

/** At most this many errors are named. */
const MAX_ERRORS = 5;

const CHECK_FLAGS = ['--bundle', '--format=esm', '--platform=node', '--target=node20', '--packages=external'];

/** The syntax errors of the function's code as `file:line:column: message` lines, or undefined. */
export async function explainNodeSyntaxError(
  runner: BuildRunner,
  entry: string,
): Promise<string | undefined> {
  const file = entry.replace(/:[A-Za-z_$][\w$]*$/, ''); // a handler's `:export`
  const lines = runner.isolated ? await inSandbox(runner, file) : await inProcess(runner.workDir, file);
  const errors = lines.filter((l) => !/Could not resolve/.test(l)).slice(0, MAX_ERRORS);
  return errors.length === 0 ? undefined : errors.join('\n');
}

async function inSandbox(runner: BuildRunner, file: string): Promise<string[]> {
  const binary = esbuildBinary();
  const result = await runner.run({
    command: binary,
    args: [file, ...CHECK_FLAGS, '--outfile=/dev/null', '--log-level=error', '--color=false'],
    bare: true,
    readOnly: [path.dirname(binary)],
    timeoutMs: 30_000,
  });
  if (result.code === 0) return [];
  // esbuild's own form: "✘ [ERROR] Unexpected \";\"\n\n    lib/greet.mjs:2:15:\n      2 │ ..."
  const out: string[] = [];
  const blocks = result.output.split(/\n(?=✘ \[ERROR\])/);
  for (const block of blocks) {
    const message = /✘ \[ERROR\] (.+)/.exec(block)?.[1];
    const where = /^\s+(\S.*?):(\d+):(\d+):$/m.exec(block);
    if (message === undefined) continue;
    out.push(where === null ? message : place(where[1] ?? '', Number(where[2]), Number(where[3]), message));
  }
  return out;
}

async function inProcess(dir: string, file: string): Promise<string[]> {
  const { build } = await import('esbuild');
  try {
    await build({
      absWorkingDir: dir,
      entryPoints: [file],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      plugins: [containment(dir)],
    });
    return [];
  } catch (err) {
    return ((err as { errors?: Message[] }).errors ?? []).map((m) =>
      m.location === null ? m.text : place(m.location.file, m.location.line, m.location.column, m.text),
    );
  }
}

/** `file:line:column: message`, the column counted from 1 as editors do (esbuild counts from 0). */
function place(file: string, line: number, column: number, message: string): string {
  return `${file}:${line}:${column + 1}: ${message}`;
}
