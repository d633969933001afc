/**
 * `POST /v1/runtimes/:id/commands`: a shell command run in Skiff's build sandbox over a copy of the
 * runtime's code, with its environment (Skiff cannot enter a running instance; what the command changes
 * is not kept). Exit 0 → its output; else 500 `command_failed`, `Failed to execute command: <output>`; past `timeout`, 500
 * `command_timeout`, `Operation timed out.`
 */
import { cp } from 'node:fs/promises';
import type { ForeignBuilds } from '../../control/deploy/foreign-builds.js';
import { MAX_OUTPUT_CHARS } from './build-step.js';
import { oprError } from './errors.js';
import type { RuntimeRecord } from './runtime-store.js';
import { runtimeEnv } from './runtime-spec.js';

export interface CommandDeps {
  builds: ForeignBuilds;
  /** The folder of a function's live code. */
  codeDir(fn: string): string | undefined;
  /** The platform's build time limit: a command's `timeout` is capped by it. */
  maxMs: number;
}

export async function runCommand(
  deps: CommandDeps,
  record: RuntimeRecord,
  params: { command: string; timeout: number },
): Promise<string> {
  const workDir = await deps.builds.open();
  try {
    const code = deps.codeDir(record.fn);
    if (code !== undefined) await cp(code, workDir, { recursive: true, verbatimSymlinks: true });
    let output = '';
    const result = await deps.builds.run(workDir, {
      line: params.command,
      env: runtimeEnv({ ...record, outputDirectory: '' }, record.secret, record.fn),
      timeoutMs: Math.min(params.timeout * 1000, deps.maxMs),
      onOutput: (text) => {
        if (output.length < MAX_OUTPUT_CHARS) output += text.slice(0, MAX_OUTPUT_CHARS - output.length);
      },
    });
    if (result.timedOut) throw oprError('command_timeout', 'Operation timed out.');
    if (result.code !== 0) {
      const why = output === '' ? `command exited with code ${String(result.code)}.` : output;
      throw oprError('command_failed', `Failed to execute command: ${why}`);
    }
    return output;
  } finally {
    await deps.builds.discard(workDir);
  }
}
