/**
 * The platform's own health: live while the event loop answers, ready once the start is complete
 * (listeners and triggers up, the async queue recovered, the minimum instances of the functions that
 * keep some started) and until a stop begins (draining). Probed at `/_skiff/health/{live,ready}` on the
 * function port and `/v1/health/{live,ready}` on the control API (shared/health-http.ts).
 */

export type HealthPhase = 'starting' | 'ready' | 'draining';

export interface Readiness {
  ready: boolean;
  phase: HealthPhase;
  /** Why it is not ready, in words that name nothing of the functions (probes need no token). */
  reason?: string;
}

/** A condition the start waits for: a reason while it does not hold, undefined once it does. */
export type StartCondition = () => string | undefined;

export class Health {
  readonly startedAt = new Date();
  private listening = false;
  private stopping = false;
  private readonly pending: StartCondition[] = [];
  /** Once every condition held, the start is over: a later eviction does not make it start again. */
  private settled = false;

  /** Listeners and triggers are up, the queue recovered. */
  listeningNow(): void {
    this.listening = true;
  }

  /** The start also waits for this (asked at each probe until it holds once). */
  waitFor(condition: StartCondition): void {
    this.pending.push(condition);
  }

  /** A stop began: not ready from now on. */
  drain(): void {
    this.stopping = true;
  }

  get draining(): boolean {
    return this.stopping;
  }

  readiness(): Readiness {
    if (this.stopping) {
      return { ready: false, phase: 'draining', reason: 'the platform is stopping' };
    }
    if (!this.listening) {
      return { ready: false, phase: 'starting', reason: 'the platform is starting its listeners' };
    }
    if (!this.settled) {
      for (let i = this.pending.length - 1; i >= 0; i--) {
        const reason = (this.pending[i] as StartCondition)();
        if (reason !== undefined) return { ready: false, phase: 'starting', reason };
        this.pending.splice(i, 1);
      }
      this.settled = true;
    }
    return { ready: true, phase: 'ready' };
  }
}
