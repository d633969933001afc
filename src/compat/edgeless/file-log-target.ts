/**
 * The writer of one `file-log` file: every event sent to a resource writing it becomes one line (the
 * payload's bytes, after a timestamp and the sender's id when the resource asks for them), in arrival
 * order. One writer per file, whichever resources share it, so the file stops growing at `maxBytes`;
 * what comes after is dropped with one warning.
 */
import { appendFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';
import type { InstanceId } from './guest-api.js';
import { Lane } from './lane.js';

export interface FileLogTargetOptions {
  file: string;
  maxBytes: number;
  logger: Logger;
}

/** What a resource puts before each payload. */
export interface FileLogFlags {
  addSourceId: boolean;
  addTimestamp: boolean;
}

export class FileLogTarget {
  private readonly lane: Lane;
  private size: number | undefined;
  private warned = false;

  constructor(readonly options: FileLogTargetOptions) {
    this.lane = new Lane(10_000, options.file);
  }

  /** Appends one line for this event (after the lines of every earlier event). */
  write(msg: Buffer, src: InstanceId, { addSourceId, addTimestamp }: FileLogFlags): Promise<void> {
    return this.lane.run(async () => {
      const { file, maxBytes, logger } = this.options;
      const prefix =
        (addTimestamp ? `${new Date().toISOString()} ` : '') +
        (addSourceId ? `${src.node_id}:${src.function_id} ` : '');
      const line = Buffer.concat([Buffer.from(prefix), msg, Buffer.from('\n')]);
      if (this.size === undefined) {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        this.size = (await stat(file).catch(() => undefined))?.size ?? 0;
      }
      if (this.size + line.length > maxBytes) {
        if (!this.warned)
          logger.warn({ file }, `file-log ${file} is full (${maxBytes} bytes): events dropped`);
        this.warned = true;
        return;
      }
      this.size += line.length;
      await appendFile(file, line, { mode: 0o600 });
    });
  }
}
