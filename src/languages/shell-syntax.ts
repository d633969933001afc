/**
 * A shell script's syntax, checked at deploy: an executable whose first line names sh, bash or dash
 * (`#!/bin/sh`, `#!/usr/bin/env bash`), or that has no `#!` line and is not ELF (the exec bridge runs
 * it with /bin/sh), is parsed with that shell's `-n` in the build's sandbox, so a
 * script that cannot run fails its deploy with `file:line: message` instead of failing every call.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SkiffError } from '../shared/errors.js';
import type { BuildRunner } from './build-runner.js';

const SHELLS = new Set(['sh', 'bash', 'dash']);
/** At most this many error lines in the message. */
const MAX_ERRORS = 5;

/** The shell that will run the file (sh, bash or dash), or undefined: another interpreter, or ELF. */
export async function shellOf(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const first = head.subarray(0, bytesRead).toString('latin1').split('\n')[0] ?? '';
    if (first.startsWith('\x7fELF')) return undefined;
    // the exec bridge runs a file without a `#!` line with /bin/sh
    if (!first.startsWith('#!')) return 'sh';
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (m === null) return undefined;
    const program = m[1]?.split('/').pop() ?? '';
    const name = program === 'env' ? (m[2] ?? '') : program;
    return SHELLS.has(name) ? name : undefined;
  } finally {
    await handle.close();
  }
}

/** `dash: fn.sh: 3: Syntax error: …` and `fn.sh: line 3: syntax error …` as `fn.sh:3: …`. */
export function placeShellError(line: string, entry: string): string {
  const m = /^(?:\S+: )?(.+?): (?:line )?(\d+): (.+)$/.exec(line.trim());
  if (m === null) return line.trim();
  return `${entry}:${m[2] ?? ''}: ${m[3] ?? ''}`;
}

/** Parses the script with its shell's `-n`; throws SKIFF_E_BUILD_FAILED naming file and line. */
export async function checkShellSyntax(
  runner: BuildRunner,
  file: string,
  entry: string,
  log: (line: string) => void,
): Promise<void> {
  const shell = await shellOf(file);
  const binary = shell === undefined ? undefined : `/usr/bin/${shell}`;
  if (binary === undefined || !existsSync(binary)) return;
  log(`$ ${shell ?? ''} -n ${entry}`);
  const result = await runner.run({ command: binary, args: ['-n', entry], timeoutMs: 10_000 });
  if (result.code === 0) return;
  const errors = result.output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, MAX_ERRORS)
    .map((l) => placeShellError(l, entry));
  for (const line of errors) log(line);
  throw new SkiffError(
    'SKIFF_E_BUILD_FAILED',
    errors.length > 0
      ? `${entry} has a syntax error: ${errors.join('; ')}`
      : `${entry} could not be checked by ${shell ?? 'its shell'} -n (${result.timedOut ? 'timed out' : `exit code ${String(result.code)}`})`,
  );
}
