/**
 * `GET /v1/runtimes/:id/logs`: a build's output as upstream streams it, `text/event-stream` but not
 * SSE-framed: lines `<timestamp> <content, newlines as \n>`, flushed about every second, ending with
 * the build (or at `timeout`). Asked before the runtime exists, it waits for its creation to start;
 * if none starts within `timeout`, 504 `logs_timeout`. One stream carries at most 2 MiB of lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogHub } from './log-hub.js';

const MAX_STREAM_CHARS = 2 * 1024 * 1024;
/**
 * Bytes of build output a stream holds for a client that does not read (the rest is dropped, with a
 * note): a build printing much to a stalled client must not pile it up in memory.
 */
const MAX_STREAM_BACKLOG = 1024 * 1024;
/** The line that stands for output dropped while the client did not read. */
const DROPPED_NOTE = 'Log stream: output dropped while the client was not reading.';

/** Streams the build output of `runtimeId`; resolves when the stream ended. */
export function streamBuildLogs(
  req: IncomingMessage,
  res: ServerResponse,
  hub: LogHub,
  runtimeId: string,
  opts: { timeoutMs: number; waitForCreation: boolean },
): Promise<void> {
  return new Promise<void>((resolve) => {
    let pending = '';
    let sent = 0;
    let ended = false;
    let attached = false;
    let dropping = false;
    let stop: () => void = () => {};
    const start = (): void => {
      if (!res.headersSent) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      }
    };
    const flush = (): void => {
      if (pending === '' || ended) return;
      start();
      res.write(pending);
      pending = '';
    };
    const timer = setInterval(flush, 1000);
    const finish = (timedOut: boolean): void => {
      if (ended) return;
      flush();
      ended = true;
      clearInterval(timer);
      clearTimeout(limit);
      stop();
      if (timedOut && !attached && !res.headersSent) {
        const body = JSON.stringify({
          type: 'logs_timeout',
          message: 'Timed out waiting for logs.',
          code: 504,
        });
        res.writeHead(504, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        });
        res.end(body);
      } else {
        start();
        res.end();
      }
      resolve();
    };
    const limit = setTimeout(() => finish(true), opts.timeoutMs);
    stop = hub.follow(
      runtimeId,
      {
        entry: (entry) => {
          attached = true;
          if (sent >= MAX_STREAM_CHARS) return;
          if (pending.length + res.writableLength > MAX_STREAM_BACKLOG) {
            if (!dropping) pending += `${entry.timestamp} ${DROPPED_NOTE}\n`;
            dropping = true;
            return;
          }
          dropping = false;
          const line = `${entry.timestamp} ${entry.content.replace(/\n/g, '\\n')}\n`;
          pending += line;
          sent += line.length;
        },
        end: () => queueMicrotask(() => finish(false)),
      },
      opts.waitForCreation,
    );
    req.on('close', () => finish(false));
    res.on('close', () => finish(false));
  });
}
