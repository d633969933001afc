/**
 * A deploy's answer as a stream of its progress (`Accept: application/x-ndjson`): one JSON object a
 * line, `{"type":"step","step":…}` as each step starts, `{"type":"output","line":…}` for each line
 * of the build log as it is added, and last `{"type":"result","status":…,"body":…}` (the JSON answer
 * a client that does not ask for the stream gets) or `{"type":"error","status":…,"error":…}`.
 *
 * What a build can push is bounded: at most MAX_STREAMED_CHARS of output per deploy, and output that
 * comes while more than MAX_BUFFERED_BYTES wait for a slow client is left out; each cut says so in a
 * marker line (`"cut":true`). The stored build log is bounded on its own (build-log.ts), and is in
 * the error's details of a failed build: with its end, where the error is.
 */
import type { ServerResponse } from 'node:http';
import type { SkiffError } from '../../shared/errors.js';
import type { DeployProgress } from './deploy-spec.js';

export const PROGRESS_TYPE = 'application/x-ndjson';

/** Characters of build output streamed per deploy, at most. */
export const MAX_STREAMED_CHARS = 1024 * 1024;
/** Bytes waiting for the client above which output lines are left out until it catches up. */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/** Whether the request's Accept header asks for the deploy's progress. */
export function wantsProgress(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => (part.split(';')[0] ?? '').trim().toLowerCase() === PROGRESS_TYPE);
}

export type ProgressEvent =
  | { type: 'step'; step: string }
  | { type: 'output'; line: string; cut?: true }
  | { type: 'result'; status: number; body: unknown }
  | ({ type: 'error'; status: number } & ReturnType<SkiffError['toBody']>);

export class ProgressStream implements DeployProgress {
  private streamed = 0;
  private skipped = 0;
  private capped = false;

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': `${PROGRESS_TYPE}; charset=utf-8`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();
  }

  step(name: string): void {
    this.write({ type: 'step', step: name });
  }

  output(line: string): void {
    if (this.capped) return;
    if (this.streamed + line.length > MAX_STREAMED_CHARS) {
      this.capped = true;
      this.write({
        type: 'output',
        cut: true,
        line: `[… the rest of the build output is not streamed (over ${MAX_STREAMED_CHARS} characters); the stored build log keeps its start and its end …]`,
      });
      return;
    }
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.skipped += line.length;
      return;
    }
    this.reportSkipped();
    this.streamed += line.length;
    this.write({ type: 'output', line });
  }

  /** The marker of lines left out while the client was behind, once they are over. */
  private reportSkipped(): void {
    if (this.skipped === 0) return;
    this.write({
      type: 'output',
      cut: true,
      line: `[… ${this.skipped} characters of build output not streamed: they came faster than the client read them …]`,
    });
    this.skipped = 0;
  }

  /** The deploy's answer, and the end of the stream. */
  result(status: number, body: unknown): void {
    this.reportSkipped();
    this.write({ type: 'result', status, body });
    this.res.end();
  }

  fail(err: SkiffError): void {
    this.reportSkipped();
    this.write({ type: 'error', status: err.status, ...err.toBody() });
    this.res.end();
  }

  private write(event: ProgressEvent): void {
    // a client that left: the deploy goes on, as with the JSON answer
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.write(`${JSON.stringify(event)}\n`);
  }
}
