/**
 * Small output helpers shared by every CLI command: tables, key/value blocks, the one error
 * template, a TTY spinner and `--json` printing. Plain text only, no colours, no dependencies.
 */
import { SkiffError, type ErrorCode } from '../shared/errors.js';

/** Renders rows under a header row; columns are left-aligned and padded, no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return i === headers.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Renders `Key:  value` lines with the values aligned. */
export function renderKeyValue(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`.trimEnd()).join('\n');
}

/** First 12 characters of a content hash, or `-` when there is none. */
export function shortHash(hash: string | null | undefined): string {
  return hash ? hash.slice(0, 12) : '-';
}

/** An ISO timestamp without milliseconds (`2024-05-01T12:00:03Z`); anything unparsable is shown as is. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return '-';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The last `n` lines of a text, without a trailing newline. */
export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

const DEFAULT_HINTS: Partial<Record<ErrorCode, string>> = {
  SKIFF_E_CLI_USAGE: 'run `skiff --help` for usage',
  SKIFF_E_CLI_UNREACHABLE: 'start the platform with `skiff serve`, or set SKIFF_URL and SKIFF_TOKEN',
  SKIFF_E_PORT_IN_USE:
    'stop what holds those ports, or move the listeners as each line says (`skiff serve --help` lists the flags)',
  SKIFF_E_UNAUTHORIZED:
    'set SKIFF_TOKEN to the admin token (written to <data-dir>/admin-token by `skiff serve`)',
  SKIFF_E_NOT_FOUND: 'check the name; `skiff fn list` shows the deployed functions',
  SKIFF_E_FUNCTION_NOT_FOUND: 'check the name; `skiff fn list` shows the deployed functions',
  SKIFF_E_SECRET_NOT_FOUND: 'check the name; `skiff secret list <function>` shows the secrets',
  SKIFF_E_STATE_NOT_FOUND: 'check the key; `skiff state list <function>` shows the keys',
  SKIFF_E_STATE_CONFLICT: 'read the key again (`skiff state get --json` shows its version) and retry',
  SKIFF_E_STATE_FULL:
    'delete keys the function no longer needs (`skiff state list <function>` shows their sizes)',
  SKIFF_E_INVALID_NAME: 'use lower-case letters, digits and dashes, or pass another name with --name',
  SKIFF_E_INVALID_SPEC: 'check skiff.json and the --runtime / --handler flags',
  SKIFF_E_HANDLER_NOT_FOUND: 'pass --handler <file>, or set "handler" in skiff.json',
  SKIFF_E_BUILD_FAILED: 'fix the error in the build output below, then deploy again',
  SKIFF_E_ARCHIVE_TOO_LARGE:
    'leave large files out of the folder (node_modules, .git and .skiff are skipped)',
  SKIFF_E_PAYLOAD_TOO_LARGE: 'send a smaller request body',
  SKIFF_E_FUNCTION_ERROR: 'see the function output with `skiff logs <name>`',
  SKIFF_E_INSTANCE_START_FAILED: 'see the function output with `skiff logs <name>`',
  SKIFF_E_INSTANCE_CRASHED: 'see the function output with `skiff logs <name>`',
  SKIFF_E_BAD_RESPONSE: 'see the function output with `skiff logs <name>`',
  SKIFF_E_TIMEOUT: 'the function did not answer in time; raise "timeoutMs" in skiff.json',
  SKIFF_E_CLI_NO_RESULT: 'add --wait (and a longer --timeout), or see why with `skiff invocation get <id>`',
  SKIFF_E_SHUTTING_DOWN: 'the platform is stopping; try again once it is back',
  SKIFF_E_INTERNAL: 'see the platform log (the output of `skiff serve`)',
};

const hints = new WeakMap<SkiffError, string>();

/** Attaches a specific "what to do" line to an error (otherwise the default for its code is shown). */
export function withHint(err: SkiffError, hint: string): SkiffError {
  hints.set(err, hint);
  return err;
}

export function hintFor(err: SkiffError): string | undefined {
  return hints.get(err) ?? DEFAULT_HINTS[err.code];
}

/** C0 controls but tab and newline, DEL, and the C1 controls (U+009B is CSI to many terminals). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text from a server or a function made safe for a terminal: control characters shown as `\u001b`,
 * so an answer cannot move the cursor, retitle the window or write the clipboard (OSC 52).
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The one error template: `✖ <message>`, `  code: <code>`, `  hint: <what to do>` (made printable). */
export function formatError(err: SkiffError): string {
  const lines = [`✖ ${err.message}`, `  code: ${err.code}`];
  const hint = hintFor(err);
  if (hint !== undefined) lines.push(`  hint: ${hint}`);
  return printable(lines.join('\n'));
}

/** The `--json` form of an error: `{ "error": { "code", "message", "details"? } }`. */
export function errorJson(err: SkiffError): string {
  return JSON.stringify(err.toBody(), null, 2);
}

/** The build log carried by a SKIFF_E_BUILD_FAILED error, if any. */
export function buildLogOf(err: SkiffError): { buildLog: string; version: number | undefined } | undefined {
  const details = err.details;
  if (typeof details !== 'object' || details === null) return undefined;
  const { buildLog, version } = details as { buildLog?: unknown; version?: unknown };
  if (typeof buildLog !== 'string' || buildLog.trim() === '') return undefined;
  return { buildLog, version: typeof version === 'number' ? version : undefined };
}

/** The exit code for an error: 2 for usage errors, 1 for everything else. */
export function exitCodeFor(err: SkiffError): number {
  return err.code === 'SKIFF_E_CLI_USAGE' ? 2 : 1;
}

const C1 = /[\x7f-\x9f]/g;

/** Prints a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  // JSON.stringify escapes C0 controls but not DEL and C1 (U+009B is CSI to many terminals): escaped
  // too, the same JSON to a parser
  const text = JSON.stringify(value, null, 2).replace(C1, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  process.stdout.write(`${text}\n`);
}

export interface Spinner {
  /** Stops the spinner and clears its line (TTY) ; returns the elapsed seconds. */
  stop(): number;
  /** Shows `text` after the label (TTY: `⠋ <label> <text> 3.2s`); nothing elsewhere. */
  detail(text: string): void;
  /** Runs `write` (which prints lines of its own) with the spinner's line cleared, then draws it again. */
  interrupt(write: () => void): void;
}

export interface SpinnerOptions {
  stream?: NodeJS.WriteStream;
  /** When false nothing is printed at all (used by `--json`). */
  enabled?: boolean;
  now?: () => number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Shows `⠋ <label> 3.2s` on a TTY, redrawn every 80 ms and cleared by `stop()`; on anything else
 * prints `<label>` once as a plain line.
 */
export function startSpinner(label: string, options: SpinnerOptions = {}): Spinner {
  const stream = options.stream ?? process.stdout;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const elapsed = (): number => (now() - started) / 1000;
  const plain = { stop: elapsed, detail: () => undefined, interrupt: (write: () => void) => write() };
  if (options.enabled === false) return plain;
  if (!stream.isTTY) {
    stream.write(`${label}\n`);
    return plain;
  }
  let frame = 0;
  let shown = label;
  const draw = (): void => {
    stream.write(`\r\x1b[2K${FRAMES[frame % FRAMES.length]} ${shown} ${elapsed().toFixed(1)}s`);
    frame += 1;
  };
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  let stopped = false;
  return {
    detail: (text) => {
      shown = text === '' ? label : `${label} ${text}`;
      if (!stopped) draw();
    },
    interrupt: (write) => {
      if (!stopped) stream.write('\r\x1b[2K');
      write();
      if (!stopped) draw();
    },
    stop: () => {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        stream.write('\r\x1b[2K');
      }
      return elapsed();
    },
  };
}
