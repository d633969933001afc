/** An instance's lines in its function's logs: written, never thrown (a failure is reported once). */
import type { Logger } from '../shared/logger.js';
import type { FunctionLogSink, LogStream } from '../model/log-record.js';
import type { Deployment } from '../model/deployment.js';
import { reasonOf } from './protocol/frame-intake.js';
import type { LogSubject } from './protocol/connection-types.js';

export class InstanceLog {
  private failureReported = false;

  constructor(
    private readonly instanceId: string,
    private readonly logs: FunctionLogSink,
    private readonly logger: Logger,
  ) {}

  /** A line of the function's logs; a warm-pool process with no function yet logs to the platform. */
  write(
    deployment: Deployment | undefined,
    stream: LogStream,
    level: string,
    message: string,
    inv?: LogSubject,
  ): void {
    try {
      if (deployment === undefined) {
        this.logger.debug({ instance: this.instanceId, stream, level }, message);
        return;
      }
      this.logs.append(deployment.function, {
        stream,
        level,
        message,
        version: deployment.version,
        ...(inv === undefined ? {} : { invocationId: inv.id }),
        ...(inv?.rootId === undefined ? {} : { rootId: inv.rootId }),
        ...(inv?.trace === undefined ? {} : { traceId: inv.trace.traceId }),
      });
    } catch (err) {
      if (this.failureReported) return;
      this.failureReported = true;
      this.logger.warn(
        { instance: this.instanceId, function: deployment?.function, reason: reasonOf(err) },
        "could not write the function's logs",
      );
    }
  }
}
