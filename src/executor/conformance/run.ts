/**
 * The runtime conformance kit: runs any runtime command through every protocol case
 * (docs/runtime-protocol.md, section 9), one fresh process per case, each case bounded in time.
 */
import { accessSync } from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../../shared/find-on-path.js';
import { CASES, CASE_NAMES, type CaseContext } from './cases.js';
import { CaseFailure, RuntimeProcess, type RuntimeSpec } from './harness.js';

export interface ConformanceOptions {
  /** The runtime's command: looked up in PATH when it has no slash, else relative to the current folder. */
  command: string;
  args?: readonly string[];
  /** The folder sent as INIT's codeDir, also the process's working directory (default: the current folder). */
  functionDir?: string;
  /** INIT's handler (default: empty). */
  handler?: string;
  /** The function's env: added to the clean environment and sent in INIT. */
  env?: Record<string, string>;
  /** Run only these cases (names from CASE_NAMES). */
  only?: readonly string[];
  maxResponseBytes?: number;
  helloTimeoutMs?: number;
  readyTimeoutMs?: number;
  /** Upper bound for one case, whatever it waits for. */
  caseTimeoutMs?: number;
  /** Called after each case, e.g. for progress output. */
  onResult?: (result: CaseResult) => void;
}

export interface CaseResult {
  name: string;
  passed: boolean;
  durationMs: number;
  /** What was seen on success, the reason on failure; one line. */
  detail: string;
  /** The first lines of the runtime's stderr, on failure. */
  stderr: string[];
}

export { CASE_NAMES };

const isPathLike = (value: string) => value.includes('/');

function exists(file: string): boolean {
  try {
    accessSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The process runs in the function folder with a clean PATH, as on the platform, so the command is
 * resolved here like a shell would, and arguments naming existing files are made absolute.
 */
export function resolveCommand(command: string, args: readonly string[], cwd = process.cwd()) {
  const resolved = isPathLike(command) ? path.resolve(cwd, command) : (findOnPath(command) ?? command);
  const resolvedArgs = args.map((arg) =>
    !arg.startsWith('-') && !path.isAbsolute(arg) && exists(path.resolve(cwd, arg))
      ? path.resolve(cwd, arg)
      : arg,
  );
  return { command: resolved, args: resolvedArgs };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export async function runConformance(options: ConformanceOptions): Promise<CaseResult[]> {
  const only = options.only;
  if (only !== undefined) {
    const unknown = only.filter((name) => !CASE_NAMES.includes(name));
    if (unknown.length > 0) {
      throw new RangeError(`unknown case ${unknown.join(', ')}; the cases are ${CASE_NAMES.join(', ')}`);
    }
  }
  const { command, args } = resolveCommand(options.command, options.args ?? []);
  const spec: RuntimeSpec = {
    command,
    args,
    codeDir: path.resolve(options.functionDir ?? process.cwd()),
    handler: options.handler ?? '',
    env: options.env ?? {},
    maxResponseBytes: options.maxResponseBytes ?? 6 * 1024 * 1024,
  };
  const helloTimeoutMs = options.helloTimeoutMs ?? 5_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const caseTimeoutMs = options.caseTimeoutMs ?? 30_000;

  const results: CaseResult[] = [];
  let handshakeFailed = false;
  for (const testCase of CASES) {
    if (only !== undefined && !only.includes(testCase.name)) continue;
    let result: CaseResult;
    if (handshakeFailed) {
      result = {
        name: testCase.name,
        passed: false,
        durationMs: 0,
        detail: 'not run: the handshake failed',
        stderr: [],
      };
    } else {
      const processes: RuntimeProcess[] = [];
      const ctx: CaseContext = {
        helloTimeoutMs,
        readyTimeoutMs,
        spawn() {
          const rt = new RuntimeProcess(spec);
          processes.push(rt);
          return rt;
        },
        async start() {
          const rt = this.spawn();
          await rt.handshake(helloTimeoutMs, readyTimeoutMs);
          return rt;
        },
      };
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CaseFailure(`the case did not finish within ${caseTimeoutMs} ms`)),
          caseTimeoutMs,
        );
      });
      try {
        const detail = await Promise.race([testCase.run(ctx), timeout]);
        result = { name: testCase.name, passed: true, durationMs: 0, detail: oneLine(detail), stderr: [] };
      } catch (err) {
        const reason =
          err instanceof CaseFailure ? err.message : `the kit failed: ${(err as Error).stack ?? String(err)}`;
        const stderr = processes.find((rt) => rt.stderrHead.length > 0)?.stderr() ?? [];
        result = { name: testCase.name, passed: false, durationMs: 0, detail: oneLine(reason), stderr };
        if (testCase.name === 'handshake') handshakeFailed = true;
      } finally {
        clearTimeout(timer);
      }
      result.durationMs = Math.round(performance.now() - started);
      await Promise.all(processes.map((rt) => rt.dispose()));
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
