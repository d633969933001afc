import type { SkiffError } from './errors.js';
import type { Logger } from './logger.js';

/** One warning per code at most this often; the ones in between are counted. */
const WARN_EVERY_MS = 10_000;

/**
 * How a listener logs a failed call, so that a stranger cannot flood the platform log: a caller's
 * mistake (a user error) at debug; a refusal of the platform (queue full, disk full, saturated,
 * shutting down, a crashed instance) as one warning per code every 10 s with the count of those in
 * between, without a stack; only an unexpected fault (`SKIFF_E_INTERNAL`) at error with its stack.
 */
export class FailureLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  failed(error: SkiffError, cause: unknown, fields: Record<string, unknown>, what: string): void {
    if (error.isUserError) {
      this.logger.debug({ ...fields, code: error.code }, error.message);
      return;
    }
    if (error.code === 'SKIFF_E_INTERNAL') {
      this.logger.error({ ...fields, err: cause }, what);
      return;
    }
    const seen = this.last.get(error.code);
    const now = this.now();
    if (seen !== undefined && now - seen.at < WARN_EVERY_MS) {
      seen.suppressed += 1;
      return;
    }
    this.last.set(error.code, { at: now, suppressed: 0 });
    this.logger.warn(
      {
        ...fields,
        code: error.code,
        ...(seen === undefined ? {} : { suppressedSinceLast: seen.suppressed }),
      },
      `${what}: ${error.message}`,
    );
  }
}
