/**
 * The `file-log` resource: every event sent to it becomes one line of its file (the payload's bytes,
 * after a timestamp and the sender's id when configured), in arrival order. A file stops growing at
 * `maxBytes`; what comes after is dropped with one warning.
 */
import { appendFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';
import type { InstanceId } from './guest-api.js';
import { Lane } from './lane.js';

export interface FileLogTargetOptions {
  name: string;
  file: string;
  addSourceId: boolean;
  addTimestamp: boolean;
  maxBytes: number;
  logger: Logger;
}

export class FileLogTarget {
  private readonly lane: Lane;
  private size: number | undefined;
  private warned = false;

  constructor(readonly options: FileLogTargetOptions) {
    this.lane = new Lane(10_000, options.name);
  }

  /** Appends one line for this event (after the lines of every earlier event). */
  write(msg: Buffer, src: InstanceId): Promise<void> {
    return this.lane.run(async () => {
      const { file, addSourceId, addTimestamp, maxBytes, logger, name } = this.options;
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
          logger.warn(
            { resource: name, file },
            `file-log ${name} is full (${maxBytes} bytes): events dropped`,
          );
        this.warned = true;
        return;
      }
      this.size += line.length;
      await appendFile(file, line, { mode: 0o600 });
    });
  }
}
