import {
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { FunctionLogSink, LogEntry } from './log-types.js';

const MAX_LOG_BYTES = 10 * 1024 * 1024;
const MAX_MESSAGE_CHARS = 16 * 1024;
const TAIL_READ_BYTES = 1024 * 1024;

/**
 * Function logs: one JSON-lines file per function under `<dataDir>/logs`. A file over 10 MiB is
 * rotated to `<name>.jsonl.1` (one generation kept), so a function's logs stay bounded.
 */
export class FileLogStore implements FunctionLogSink {
  private readonly streams = new Map<string, { stream: WriteStream; bytes: number }>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.jsonl`);
  }

  append(functionName: string, entry: Omit<LogEntry, 'ts'>): void {
    const message =
      entry.message.length > MAX_MESSAGE_CHARS
        ? `${entry.message.slice(0, MAX_MESSAGE_CHARS)}… [truncated ${entry.message.length - MAX_MESSAGE_CHARS} chars]`
        : entry.message;
    const line = `${JSON.stringify({ ts: new Date().toISOString(), ...entry, message })}\n`;
    let open = this.streams.get(functionName);
    if (open !== undefined && open.bytes + line.length > MAX_LOG_BYTES) {
      open.stream.end();
      this.streams.delete(functionName);
      open = undefined;
      try {
        renameSync(this.file(functionName), `${this.file(functionName)}.1`);
      } catch {
        // the file is gone (the function was deleted): a new one starts
      }
    }
    if (open === undefined) {
      const file = this.file(functionName);
      const bytes = existsSync(file) ? statSync(file).size : 0;
      const opened = { stream: createWriteStream(file, { flags: 'a' }), bytes };
      // a failed write (a full disk) loses lines, never the platform; the next line opens the file again
      opened.stream.on('error', () => {
        if (this.streams.get(functionName) === opened) this.streams.delete(functionName);
      });
      this.streams.set(functionName, opened);
      open = opened;
    }
    open.bytes += Buffer.byteLength(line);
    open.stream.write(line);
  }

  /** The last `limit` entries of a function, oldest first. */
  async tail(functionName: string, limit: number): Promise<LogEntry[]> {
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
      const start = Math.max(0, size - TAIL_READ_BYTES);
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

  async remove(functionName: string): Promise<void> {
    const open = this.streams.get(functionName);
    this.streams.delete(functionName);
    if (open !== undefined) await new Promise<void>((resolve) => open.stream.end(resolve));
    rmSync(this.file(functionName), { force: true });
    rmSync(`${this.file(functionName)}.1`, { force: true });
  }

  async close(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(all.map((o) => new Promise<void>((resolve) => o.stream.end(resolve))));
  }

  private async flush(functionName: string): Promise<void> {
    const open = this.streams.get(functionName);
    if (open === undefined || open.stream.writableLength === 0) return;
    await new Promise<void>((resolve) => open.stream.write('', () => resolve()));
  }
}
