import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { FunctionLogSink, LogEntry } from '../model/log-record.js';
import {
  readRange,
  readStarts,
  startsPath,
  writeStarts,
  type LogRange,
  type LogStarts,
} from './log-positions.js';

/** A file is rotated at 5 MiB and one older generation is kept: at most 10 MiB per function. */
const MAX_FILE_BYTES = 5 * 1024 * 1024;
/** Room for a 16 KiB line or LOG text and the marker of its cut. */
const MAX_MESSAGE_CHARS = 17 * 1024;
const TAIL_READ_BYTES = 1024 * 1024;
/** Bytes of one function's log lines waiting for the disk; beyond it lines are dropped and counted. */
const MAX_QUEUED_BYTES = 1024 * 1024;
/**
 * A function's log lines may come at 1 MiB a second, in bursts of up to 4 MiB (a line counts its
 * message and 128 bytes); beyond, lines are dropped and counted. Logs keep 10 MiB per function, so a
 * faster flood only churns the files, and its cost (a JSON line per message, a write) is the platform's.
 */
const LOG_RATE_BYTES_PER_SEC = 1024 * 1024;
const LOG_BURST_BYTES = 4 * 1024 * 1024;
const LINE_OVERHEAD_BYTES = 128;

/** A function's allowance of log bytes (a token bucket). */
interface LogAllowance {
  tokens: number;
  at: number;
  /** Lines dropped over the rate since the last one written. */
  throttled: number;
}

interface OpenLog {
  stream: WriteStream;
  bytes: number;
  /** Where this file and the rotated one start in the function's log (log-positions.ts). */
  starts: LogStarts;
  /** Lines of this turn of the event loop, written together (one write, few objects to collect). */
  batch: string[];
  batchBytes: number;
  /** Lines dropped since the last one written, because the disk did not keep up. */
  dropped: number;
}

/** Told of every line appended (with the absolute offset where `text` starts) and of removed logs. */
export interface LogListener {
  appended(functionName: string, offset: number, text: string): void;
  removed(functionName: string): void;
}

/**
 * Function logs: one JSON-lines file per function under `<dataDir>/logs`. A file over 5 MiB is
 * rotated to `<name>.jsonl.1` (one generation kept), so a function's logs stay within 10 MiB. A
 * function that logs faster than the disk writes loses lines, never the platform's memory: at most
 * 1 MiB per function waits for the disk, the lines beyond are dropped and a marker line says how many.
 */
export class FileLogStore implements FunctionLogSink {
  private readonly streams = new Map<string, OpenLog>();
  private readonly allowances = new Map<string, LogAllowance>();
  private flushScheduled = false;
  /** Listeners of one invocation's lines (a compatibility API that answers with them), by its id. */
  private readonly watchers = new Map<string, (entry: Omit<LogEntry, 'ts'>) => void>();
  /** Listeners of every appended line (the followers of logs: control/log-follow-hub.ts). */
  private readonly listeners = new Set<LogListener>();
  /** A rotated file's last writes, by function (a reader waits for them). */
  private readonly rotating = new Map<string, Promise<void>>();

  private readonly rate: { bytesPerSec: number; burstBytes: number };

  /** `rate`: the log bytes a function may write a second and in one burst (Infinity: no limit). */
  constructor(
    private readonly dir: string,
    rate: { bytesPerSec: number; burstBytes: number } = {
      bytesPerSec: LOG_RATE_BYTES_PER_SEC,
      burstBytes: LOG_BURST_BYTES,
    },
  ) {
    mkdirSync(dir, { recursive: true });
    this.rate = rate;
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.jsonl`);
  }

  /**
   * Hands every line of invocation `invocationId` to `listener` as it is appended (before it is
   * written), until the returned function is called. One listener per invocation.
   */
  watch(invocationId: string, listener: (entry: Omit<LogEntry, 'ts'>) => void): () => void {
    this.watchers.set(invocationId, listener);
    return () => {
      if (this.watchers.get(invocationId) === listener) this.watchers.delete(invocationId);
    };
  }

  /** Tells `listener` of every line appended and every log removed, until the returned function is called. */
  listen(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Never throws: a line that cannot be written is lost, not the caller's work. */
  append(functionName: string, entry: Omit<LogEntry, 'ts'>): void {
    if (this.watchers.size > 0 && entry.invocationId !== undefined) {
      try {
        this.watchers.get(entry.invocationId)?.(entry);
      } catch {
        // a listener's failure is its own
      }
    }
    try {
      this.write(functionName, entry);
    } catch {
      // the disk or the folder failed: the line is lost
    }
  }

  /** Whether a line of `size` bytes fits the function's rate; counts it as throttled when not. */
  private admit(functionName: string, size: number): LogAllowance | undefined {
    const now = Date.now();
    let allowance = this.allowances.get(functionName);
    if (allowance === undefined) {
      allowance = { tokens: this.rate.burstBytes, at: now, throttled: 0 };
      this.allowances.set(functionName, allowance);
    }
    allowance.tokens = Math.min(
      this.rate.burstBytes,
      allowance.tokens + ((now - allowance.at) / 1000) * this.rate.bytesPerSec,
    );
    allowance.at = now;
    if (allowance.tokens < size) {
      if (allowance.throttled++ === 0) {
        // the marker goes out with the next line, or after a second if no line comes
        setTimeout(() => this.noteThrottled(functionName, allowance), 1000).unref();
      }
      return undefined;
    }
    allowance.tokens -= size;
    return allowance;
  }

  private noteThrottled(functionName: string, allowance: LogAllowance): void {
    if (allowance.throttled === 0 || this.allowances.get(functionName) !== allowance) return;
    try {
      this.write(functionName, { stream: 'platform', level: 'warn', message: '' }, true);
    } catch {
      // the line is lost
    }
  }

  /** Appends a line (with the dropped-lines markers first, when due); `markerOnly` writes just those. */
  private write(functionName: string, entry: Omit<LogEntry, 'ts'>, markerOnly = false): void {
    let allowance: LogAllowance | undefined;
    if (!markerOnly) {
      const text = entry.message as unknown;
      const length = typeof text === 'string' ? text.length : 0;
      allowance = this.admit(functionName, Math.min(length, MAX_MESSAGE_CHARS) + LINE_OVERHEAD_BYTES);
      if (allowance === undefined) return;
    } else {
      allowance = this.allowances.get(functionName);
    }
    const current = this.streams.get(functionName);
    if (current !== undefined && current.stream.writableLength + current.batchBytes >= MAX_QUEUED_BYTES) {
      // the marker goes out with the next line, or once the queue drained if no line comes
      if (current.dropped++ === 0)
        current.stream.once('drain', () => this.noteDropped(functionName, current));
      return;
    }
    const raw = typeof entry.message === 'string' ? entry.message : String(entry.message);
    const message =
      raw.length > MAX_MESSAGE_CHARS
        ? `${raw.slice(0, MAX_MESSAGE_CHARS)}… [truncated ${raw.length - MAX_MESSAGE_CHARS} chars]`
        : raw;
    const ts = new Date().toISOString();
    let line = markerOnly ? '' : `${JSON.stringify({ ts, ...entry, message })}\n`;
    if (current !== undefined && current.dropped > 0) {
      const note = `${current.dropped} log lines dropped: the function logged faster than the disk writes`;
      line = `${JSON.stringify({ ts, stream: 'platform', level: 'warn', message: note })}\n${line}`;
      current.dropped = 0;
    }
    if (allowance !== undefined && allowance.throttled > 0) {
      const note = `${allowance.throttled} log lines dropped: the function logged more than ${Math.round(this.rate.bytesPerSec / 1024)} KiB a second`;
      line = `${JSON.stringify({ ts, stream: 'platform', level: 'warn', message: note })}\n${line}`;
      allowance.throttled = 0;
    }
    if (line === '') return;
    const size = Buffer.byteLength(line);
    const open = this.openFor(functionName, size);
    const offset = open.starts.current + open.bytes;
    open.bytes += size;
    open.batch.push(line);
    open.batchBytes += size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.writeBatches());
    }
    for (const listener of this.listeners) {
      try {
        listener.appended(functionName, offset, line);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private writeBatches(): void {
    this.flushScheduled = false;
    for (const open of this.streams.values()) writeBatch(open);
  }

  /** Writes the dropped-lines marker if lines were dropped and no line since has carried it. */
  private noteDropped(functionName: string, open: OpenLog): void {
    if (open.dropped === 0 || this.streams.get(functionName) !== open) return;
    try {
      this.write(functionName, { stream: 'platform', level: 'warn', message: '' }, true);
    } catch {
      // the line is lost
    }
  }

  /** The open file of a function, rotated first when `size` more bytes would take it over the limit. */
  private openFor(functionName: string, size: number): OpenLog {
    let open = this.streams.get(functionName);
    let starts: LogStarts | undefined;
    if (open !== undefined && open.bytes + size > MAX_FILE_BYTES) {
      writeBatch(open);
      const old = open.stream;
      this.rotating.set(functionName, new Promise<void>((resolve) => old.end(() => resolve())));
      this.streams.delete(functionName);
      starts = { previous: open.starts.current, current: open.starts.current + open.bytes };
      open = undefined;
      try {
        writeStarts(this.file(functionName), starts);
        renameSync(this.file(functionName), `${this.file(functionName)}.1`);
      } catch {
        // the file is gone (the function was deleted): a new one starts
      }
    }
    if (open === undefined) {
      const file = this.file(functionName);
      const bytes = existsSync(file) ? statSync(file).size : 0;
      const opened: OpenLog = {
        stream: createWriteStream(file, { flags: 'a' }),
        bytes,
        starts: starts ?? readStarts(file),
        batch: [],
        batchBytes: 0,
        dropped: 0,
      };
      // a failed write (a full disk) loses lines, never the platform; the next line opens the file again
      opened.stream.on('error', () => {
        if (this.streams.get(functionName) === opened) this.streams.delete(functionName);
      });
      this.streams.set(functionName, opened);
      open = opened;
    }
    return open;
  }

  /** The last `limit` entries of a function, oldest first, among its last `readBytes` of log. */
  async tail(functionName: string, limit: number, readBytes = TAIL_READ_BYTES): Promise<LogEntry[]> {
    await this.flush(functionName);
    const file = this.file(functionName);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - readBytes);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n').filter(Boolean);
      if (start > 0) lines.shift();
      return lines.slice(-limit).flatMap((l) => {
        try {
          return [JSON.parse(l) as LogEntry];
        } catch {
          return [];
        }
      });
    } finally {
      await handle.close();
    }
  }

  /**
   * The complete lines of a function's log from absolute offset `from` up to the last line appended
   * before the call, at most the last `maxBytes` of them. A listener added before the call is told of
   * every line after (log-positions.ts; logs-follow.md).
   */
  async range(functionName: string, from: number, maxBytes: number): Promise<LogRange & { end: number }> {
    const end = this.positions(functionName);
    await this.flush(functionName);
    await this.rotating.get(functionName);
    const starts = this.streams.get(functionName)?.starts ?? readStarts(this.file(functionName));
    return { ...readRange(this.file(functionName), starts, from, end, maxBytes), end };
  }

  /** The absolute offset where the function's next line will start. */
  private positions(functionName: string): number {
    const open = this.streams.get(functionName);
    if (open !== undefined) return open.starts.current + open.bytes;
    const file = this.file(functionName);
    return readStarts(file).current + (existsSync(file) ? statSync(file).size : 0);
  }

  /** The functions that have a log (their files' names). */
  functionsWithLogs(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => f.slice(0, -'.jsonl'.length));
    } catch {
      return [];
    }
  }

  async remove(functionName: string): Promise<void> {
    for (const listener of this.listeners) {
      try {
        listener.removed(functionName);
      } catch {
        // a listener's failure is its own
      }
    }
    const open = this.streams.get(functionName);
    this.streams.delete(functionName);
    this.allowances.delete(functionName);
    this.rotating.delete(functionName);
    if (open !== undefined) {
      writeBatch(open);
      await new Promise<void>((resolve) => open.stream.end(resolve));
    }
    rmSync(this.file(functionName), { force: true });
    rmSync(`${this.file(functionName)}.1`, { force: true });
    rmSync(startsPath(this.file(functionName)), { force: true });
  }

  async close(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const o of all) writeBatch(o);
    await Promise.all(all.map((o) => new Promise<void>((resolve) => o.stream.end(resolve))));
  }

  private async flush(functionName: string): Promise<void> {
    const open = this.streams.get(functionName);
    if (open !== undefined) writeBatch(open);
    if (open === undefined || open.stream.writableLength === 0) return;
    await new Promise<void>((resolve) => open.stream.write('', () => resolve()));
  }
}

/** Hands a function's pending lines to its file in one write. */
function writeBatch(open: OpenLog): void {
  if (open.batch.length === 0) return;
  const data = open.batch.length === 1 ? (open.batch[0] as string) : open.batch.join('');
  open.batch = [];
  open.batchBytes = 0;
  open.stream.write(data);
}
