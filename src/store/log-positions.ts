/**
 * Positions in a function's log that survive rotation: every byte of a function's log has an absolute
 * offset, counted from the first line it ever wrote. The current file starts at `current`, the rotated
 * generation (`<name>.jsonl.1`) at `previous`; both are kept in `<name>.jsonl.starts` (written at each
 * rotation). The id of a followed log line is the absolute offset of its end (logs-follow.md).
 */
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync, renameSync } from 'node:fs';
import type { LogEntry } from '../model/log-record.js';

export interface LogStarts {
  /** Where the rotated generation (`.1`) starts. */
  previous: number;
  /** Where the current file starts. */
  current: number;
}

/** A line read back, with the absolute offset just past its newline (its follow id). */
export interface PositionedEntry {
  end: number;
  entry: LogEntry;
  /** The line as stored (JSON, no newline). */
  raw: string;
}

const startsFile = (file: string): string => `${file}.starts`;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The starts of a function's two files. A log written before positions were kept has no starts file:
 * its rotated generation starts at 0 and the current file right after it.
 */
export function readStarts(file: string): LogStarts {
  try {
    const [previous, current] = readFileSync(startsFile(file), 'utf8').trim().split(' ').map(Number);
    if (Number.isSafeInteger(previous) && Number.isSafeInteger(current))
      return { previous: previous as number, current: current as number };
  } catch {
    // no starts yet
  }
  return { previous: 0, current: sizeOf(`${file}.1`) };
}

/** Records the starts (whole or not at all). */
export function writeStarts(file: string, starts: LogStarts): void {
  writeFileSync(`${startsFile(file)}.tmp`, `${starts.previous} ${starts.current}\n`);
  renameSync(`${startsFile(file)}.tmp`, startsFile(file));
}

export function startsPath(file: string): string {
  return startsFile(file);
}

/** The result of reading a range of a function's log. */
export interface LogRange {
  lines: PositionedEntry[];
  /** The earliest offset still stored (older lines were rotated away). */
  earliest: number;
  /** Where the range read started (after `from` was clamped to what is stored and to `maxBytes`). */
  readFrom: number;
}

/**
 * The complete lines of a function's log between absolute offsets `from` and `end`, at most the last
 * `maxBytes` of them. Synchronous, so that the files and their starts are seen at one moment (a
 * rotation cannot come between); `maxBytes` keeps it short.
 */
export function readRange(
  file: string,
  starts: LogStarts,
  from: number,
  end: number,
  maxBytes: number,
): LogRange {
  const rotated = sizeOf(`${file}.1`) > 0 && starts.previous < starts.current;
  const earliest = rotated ? starts.previous : starts.current;
  const gens = [
    ...(rotated ? [{ path: `${file}.1`, start: starts.previous, end: starts.current }] : []),
    { path: file, start: starts.current, end },
  ];
  const readFrom = Math.max(from, earliest, end - maxBytes);
  const lines: PositionedEntry[] = [];
  for (const gen of gens) {
    const genEnd = Math.min(end, gen.end);
    // one byte before the range too: whether the range starts at a line's start
    const lo = Math.max(readFrom, gen.start);
    const at = lo > gen.start ? lo - 1 : lo;
    if (lo >= genEnd) continue;
    let fd: number;
    try {
      fd = openSync(gen.path, 'r');
    } catch {
      continue;
    }
    try {
      const buf = Buffer.alloc(genEnd - at);
      const got = readSync(fd, buf, 0, buf.length, at - gen.start);
      collect(buf.subarray(0, got), at, at < lo, lines);
    } finally {
      closeSync(fd);
    }
  }
  return { lines, earliest, readFrom };
}

/**
 * Splits `buf` (read from absolute offset `at`) into parsed lines. With `peek`, the first byte is the
 * one before the range: unless it ends a line, the range starts inside one, which is left out.
 */
function collect(buf: Buffer, at: number, peek: boolean, out: PositionedEntry[]): void {
  let pos = 0;
  if (peek) {
    pos = buf[0] === 0x0a ? 1 : buf.indexOf(0x0a) + 1;
    if (pos === 0) return;
  }
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl === -1) break;
    const raw = buf.toString('utf8', pos, nl);
    pos = nl + 1;
    try {
      out.push({ end: at + pos, entry: JSON.parse(raw) as LogEntry, raw });
    } catch {
      // a damaged line is left out
    }
  }
}
