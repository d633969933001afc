/**
 * The PING liveness probe of a protocol connection (docs/runtime-protocol.md, "Timeout and CANCEL"):
 * after a function's own timeout the platform PINGs its instance, and one that does not PONG within
 * the probe timeout is reported as hung (its owner kills it). One probe runs at a time.
 */
import type { Ping } from './connection-types.js';

export interface LivenessProbeDeps {
  timeoutMs: number;
  /** Sends the PING under `id`; `written` is called once it is on its way out. */
  send(id: number, written: () => void): void;
  /** The peer did not answer in time. */
  hung(): void;
  /** A probe ended (answered or not): invocations that waited for it may go. */
  ended(): void;
}

export class LivenessProbe {
  private readonly pings = new Map<number, Ping>();
  private current: Promise<boolean> | undefined;

  constructor(private readonly deps: LivenessProbeDeps) {}

  /** While a probe runs: resolves true if the peer answered, false if it did not. */
  get running(): Promise<boolean> | undefined {
    return this.current;
  }

  /** Starts a probe under wire id `id`, unless one runs. */
  start(id: number): void {
    if (this.current !== undefined) return;
    this.current = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        this.deps.hung();
        resolve(false);
      }, this.deps.timeoutMs);
      const ping: Ping = {
        answer: (alive) => {
          clearTimeout(timer);
          this.pings.delete(id);
          resolve(alive);
        },
        written: false,
      };
      this.pings.set(id, ping);
      this.deps.send(id, () => {
        ping.written = true;
      });
    }).finally(() => {
      this.current = undefined;
      this.deps.ended();
    });
  }

  /**
   * A PONG for `id`: undefined when no PING of that id waits (ignored), `'unread'` when its PING was
   * not on its way out yet (the peer answered blindly: a protocol violation), else `'answered'`.
   */
  pong(id: number): 'answered' | 'unread' | undefined {
    const ping = this.pings.get(id);
    if (ping === undefined) return undefined;
    if (!ping.written) return 'unread';
    ping.answer(true);
    return 'answered';
  }

  /** The peer is gone or broke the protocol: every probe fails. */
  failAll(): void {
    for (const ping of [...this.pings.values()]) ping.answer(false);
  }
}
