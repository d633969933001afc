/**
 * The start of a protocol connection: HELLO, then INIT answered by READY, each within its time. One
 * phase waits at a time; the peer's exit, a violation or the owner can fail it (`abort`).
 */
import { SkiffError } from '../../shared/errors.js';
import type { StartErrorCode, StartWaiter } from './connection-types.js';

export class StartGate {
  private waiter: StartWaiter | undefined;

  /** The phase waiting, if one is. */
  get phase(): StartWaiter['phase'] | undefined {
    return this.waiter?.phase;
  }

  /** Waits for `phase` to be passed within `limit` ms (else SKIFF_E_START_TIMEOUT, `… <what>`). */
  wait(phase: StartWaiter['phase'], what: string, limit: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.abort(`${what} within ${limit} ms`, 'SKIFF_E_START_TIMEOUT');
      }, limit);
      this.waiter = {
        phase,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** The phase waiting is passed (when it is `phase`); false when it was not waiting. */
  pass(phase: StartWaiter['phase']): boolean {
    const waiter = this.waiter;
    if (waiter?.phase !== phase) return false;
    this.waiter = undefined;
    waiter.resolve();
    return true;
  }

  /** Fails the phase waiting (if one is) with `the function instance <message>`. */
  abort(message: string, code: StartErrorCode = 'SKIFF_E_INSTANCE_START_FAILED'): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    waiter.reject(new SkiffError(code, `the function instance ${message}`));
  }
}
