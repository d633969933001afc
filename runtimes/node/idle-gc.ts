/**
 * Gives back the memory an idle instance holds only because V8's young generation grew under its
 * calls and stays grown (V8 never shrinks it on its own while idle): once nothing has been in flight
 * for `SKIFF_REDUCE_AFTER_IDLE_MS` (set by the platform, `memory.instanceReduceAfterIdleMs`; 0: never)
 * after a call settled or INIT, one full collection of the `last-resort` flavor, which shrinks it.
 * Again only after a call settles. Never before INIT (a warm-pool process: rehearsal.ts collects its
 * young garbage then). The collection is synchronous: an INVOKE arriving meanwhile waits for it.
 * The per-call cost is `settled()`: a timestamp and, when no check is pending, one timer.
 */
import { exposedGc } from '../../src/shared/exposed-gc.js';

const afterMs = Number(process.env['SKIFF_REDUCE_AFTER_IDLE_MS'] ?? 60_000);
// the platform's setting, not the function's: gone before the function's code loads
delete process.env['SKIFF_REDUCE_AFTER_IDLE_MS'];
let lastSettled = 0;
let pending = false;
let inFlight: () => number = () => 0;

/** After INIT: from now on, a quiet instance collects once per quiet period. */
export function startIdleCollection(invocationsInFlight: () => number): void {
  inFlight = invocationsInFlight;
  settled();
}

/** An invocation settled (or INIT ended): the quiet period starts again. */
export function settled(): void {
  lastSettled = performance.now();
  if (pending || !(afterMs > 0)) return;
  pending = true;
  setTimeout(check, afterMs).unref();
}

function check(): void {
  const quiet = performance.now() - lastSettled;
  if (inFlight() > 0 || quiet < afterMs) {
    // a call in flight settles later (and sets lastSettled): look again a quiet time from then
    setTimeout(check, inFlight() > 0 ? afterMs : afterMs - quiet).unref();
    return;
  }
  pending = false;
  exposedGc()?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
