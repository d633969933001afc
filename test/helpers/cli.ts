/** Runs the built CLI as a user would: `node bin/skiff.js …` in a child process, with a controlled env. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'skiff.js');

export interface CliResult<T extends string | Buffer> {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: T;
  stderr: string;
}

/** A configuration folder (XDG_CONFIG_HOME) with no contexts, for every run that names none. */
const configHome = mkdtempSync(path.join(os.tmpdir(), 'skiff-cli-config-'));

/** The test runner's environment without any SKIFF_* variable, so only what a test sets counts. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SKIFF_')) env[key] = value;
  }
  // and an empty configuration folder of its own: no context the machine's user recorded counts
  return { ...env, XDG_CONFIG_HOME: configHome, ...extra };
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  encoding: 'buffer',
  cwd?: string,
  input?: string,
): Promise<CliResult<Buffer>>;
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  encoding?: 'utf8',
  cwd?: string,
  input?: string,
): Promise<CliResult<string>>;
/** Runs the built CLI (`node bin/skiff.js …`), killed after 30 s; never rejects, the exit code is in the result. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  encoding: 'utf8' | 'buffer' = 'utf8',
  cwd?: string,
  input?: string,
): Promise<CliResult<string | Buffer>> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: cwd ?? ROOT,
        env,
        encoding,
        timeout: 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const failure = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr: String(stderr),
        });
      },
    );
    // stdin: the given text, else a closed pipe (never the test runner's terminal)
    child.stdin?.end(input ?? '');
  });
}

/** A `skiff serve` child: its output so far, a wait for a line on stdout, and a stop (SIGTERM). */
export interface ServeChild {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds `text`; rejects when the process exits first or after `ms`. */
  waitForStdout(text: string, ms: number): Promise<void>;
  stop(): Promise<number | null>;
}

export function startServe(args: string[], env: NodeJS.ProcessEnv): ServeChild {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    stdout: () => out,
    stderr: () => err,
    async waitForStdout(text, ms) {
      const deadline = Date.now() + ms;
      while (!out.includes(text)) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`no "${text}" from skiff serve\nstdout:\n${out}\nstderr:\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
