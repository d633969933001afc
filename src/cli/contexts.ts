/**
 * Named contexts: the platforms `skiff login` has recorded, kept in the user's configuration folder
 * (`$XDG_CONFIG_HOME/skiff/config.json`, else `~/.config/skiff/config.json`), like faas-cli's and
 * kubectl's. The file holds tokens: it is written with mode 0600 in a folder of mode 0700, through a
 * temporary file and a rename, so that a reader never sees half of it.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { SkiffError } from '../shared/errors.js';
import { withHint } from './output.js';

/** The file's schema, built at the first file read: zod loads only for a command that reads one. */
function schemas() {
  const { z } = createRequire(import.meta.url)('zod') as typeof import('zod');
  const contextSchema = z
    .object({
      url: z.string().min(1),
      gateway: z.string().min(1).optional(),
      token: z.string().min(1).optional(),
    })
    .strict();
  const fileSchema = z
    .object({
      current: z.string().optional(),
      contexts: z.record(z.string(), contextSchema).default({}),
    })
    .strict();
  return { contextSchema, fileSchema };
}
let schemasMade: ReturnType<typeof schemas> | undefined;

export type Context = z.infer<ReturnType<typeof schemas>['contextSchema']>;
export type ContextsFile = z.infer<ReturnType<typeof schemas>['fileSchema']>;

/** A context's name: what `skiff context use` takes (letters, digits, `.`, `_`, `-`, `:`, `@`). */
export const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$/;

/** Where the contexts live. */
export function contextsPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const base =
    xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'skiff', 'config.json');
}

/** The recorded contexts (none when the file does not exist); a file that does not parse is an error. */
export function readContexts(file: string): ContextsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw new SkiffError('SKIFF_E_CLI_USAGE', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  schemasMade ??= schemas();
  const result = schemasMade.fileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || 'the top'}: ${issue.message}`;
    throw withHint(
      new SkiffError('SKIFF_E_CLI_USAGE', `${file} is not a valid Skiff CLI configuration${where}`),
      'fix or delete the file, then run `skiff login <url>` again',
    );
  }
  return result.data;
}

/** Writes the contexts, readable by the user only. */
export function writeContexts(file: string, contents: ContextsFile): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  privateFolder(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  // whatever is there (a file left from a crash, a link) goes: the token is only written to a new file
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
}

/**
 * The folder of the contexts, made the user's alone: one that others may write to (left wider, or an
 * XDG_CONFIG_HOME in a shared place) lets them swap the file or plant links where it is written.
 */
function privateFolder(dir: string): void {
  const info = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw withHint(
      new SkiffError('SKIFF_E_CLI_USAGE', `${dir} belongs to another user: no token is written there`),
      'set XDG_CONFIG_HOME to a folder of your own',
    );
  }
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The context named `name`, or a usage error listing the ones there are. */
export function contextNamed(contents: ContextsFile, name: string, file: string): Context {
  const found = Object.hasOwn(contents.contexts, name) ? contents.contexts[name] : undefined;
  if (found !== undefined) return found;
  const names = Object.keys(contents.contexts);
  throw withHint(
    new SkiffError('SKIFF_E_CLI_USAGE', `no context named '${name}' in ${file}`),
    names.length === 0
      ? 'record one with `skiff login <url>`'
      : `the contexts are: ${names.join(', ')} (\`skiff context list\`)`,
  );
}
