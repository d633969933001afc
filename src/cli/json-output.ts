/**
 * What `--json` prints, per command: shown at the end of each command's `--help` and listed in
 * docs/cli.md (a test keeps both equal to the command tree). Errors under `--json` are always
 * `{ "error": { "code", "message", "details"? } }` on stdout, with the same exit codes.
 */
import type { Command } from 'commander';
import { COMPAT_JSON_OUTPUT } from './compat.js';
import { commandPath } from './options.js';

export const JSON_OUTPUT: Readonly<Record<string, string>> = {
  'skiff serve':
    'nothing: the platform log is JSON lines on stderr when stderr is not a terminal, or with --log-format json',
  'skiff login':
    '{ "context", "url", "gateway", "file" }: the context recorded and the file it was written to',
  'skiff logout': '{ "context", "removed": true }',
  'skiff context list': '{ "current", "contexts": [{ "name", "url", "gateway", "current" }] }',
  'skiff context use': '{ "current", "url" }',
  'skiff context remove': '{ "context", "removed": true }',
  'skiff fn deploy':
    'the API\'s answer to PUT /v1/functions/{name}: { "function", "version", "hash", "buildLog", ... }',
  'skiff deploy': 'as `skiff fn deploy`',
  'skiff init':
    '{ "dir", "name", "runtime", "files", "test" }: what was written and the command that runs its test',
  'skiff dev': 'refused (SKIFF_E_CLI_USAGE): dev prints text only, deploy by deploy',
  'skiff fn scale': '{ "function", "scaling", "override" }: the effective scaling and the override in force',
  'skiff fn rollback':
    'the API\'s answer to POST /v1/functions/{name}/rollback: { "function", "version", ... }',
  'skiff fn traffic':
    '{ "function", "liveVersion", "traffic": [{ "version", "percent" }] }: the split in force (one entry at 100 when there is none)',
  'skiff fn token': '{ "token", "expiresAt" }, or with --revoke { "function", "revoked": true }',
  'skiff fn list': '{ "functions": [{ "name", "runtime", "liveVersion", "hash", "updatedAt", ... }] }',
  'skiff fn get':
    '{ "function": { "name", "liveVersion", "traffic", "resolved", "versions": [...], "instances": [{ "pid", "sandboxPid", "rssBytes", "cgroupMemoryBytes", ... }], ... } }',
  'skiff fn delete': '{ "deleted": "<name>" }',
  'skiff invoke':
    '{ "status", "headers", "body", "bodyEncoding" }: body is the parsed value when bodyEncoding is "json", text when "utf8", base64 when "base64"; with --async also "id"',
  'skiff invocation get':
    '{ "invocation": { "id", "function", "status", "attempts", "result": { "status", "body" (base64) } | null, "error", "traceId", ... } }; for a synchronous root with no record, { "rootId", "invocations" }; --output body writes the result bytes instead',
  'skiff invocation list': '{ "invocations": [ ...as in `invocation get` ] }, newest first',
  'skiff logs':
    '{ "logs": [{ "ts", "stream", "level", "message", "invocationId"?, "rootId"?, "traceId"?, "version"?, "function" }] }; with -f, one such line object per line (NDJSON), with "id" to resume from',
  'skiff backup':
    '{ "file", "bytes", "schema", "files" }: the archive written, its data schema and how many files it holds',
  'skiff restore':
    '{ "dataDir", "schema", "skiffVersion", "createdAt", "files", "replaced" }: replaced is where --force moved the old data directory, else null',
  'skiff secret set': '{ "function", "secret", "set": true }',
  'skiff secret list': '{ "secrets": [{ "name", "updatedAt" }] } (names only, never values)',
  'skiff secret delete': '{ "function", "secret", "deleted": true }',
  'skiff state get':
    '{ "function", "key", "version", "contentType", "value" }: value parsed for application/json, else base64',
  'skiff state set': '{ "function", "key", "version", "contentType", "size" }',
  'skiff state list':
    '{ "keys": [{ "key", "version", "size", "contentType", "updatedAt" }], "usage", "limits" }',
  'skiff state delete': '{ "function", "key", "deleted": true }',
  'skiff workflow apply':
    'the workflow { "name", "version", "outputs", ... } with "created" and any "warnings"',
  'skiff workflow get': 'the workflow { "name", "version", "outputs", ... }',
  'skiff workflow list': '{ "workflows": [...] }',
  'skiff workflow delete': '{ "name", "deleted": true }',
  'skiff status':
    '{ "version", "uptimeMs", "ready", "phase", "listeners", "functions", "instances", "queue", "disk", ... }: GET /v1/status',
  'skiff runtime test': '[{ "name", "passed", "durationMs", "detail" }]: one entry per conformance case',
  ...COMPAT_JSON_OUTPUT,
};

/** Appends "With --json: …" to the help of every command that has no sub-commands. */
export function addJsonHelp(cmd: Command): void {
  if (cmd.commands.length === 0) {
    const text = JSON_OUTPUT[commandPath(cmd)];
    if (text !== undefined) cmd.addHelpText('after', `\nWith --json: ${text}\n`);
    return;
  }
  for (const sub of cmd.commands) addJsonHelp(sub);
}

/** Every command without sub-commands, as `skiff <noun> <verb>`. */
export function leafCommands(cmd: Command): string[] {
  if (cmd.commands.length === 0) return [commandPath(cmd)];
  return cmd.commands.flatMap(leafCommands);
}
