/**
 * The log follow of `skiff dev`: a function's new log lines as they come. For now it polls
 * `GET /v1/functions/{name}/logs?limit=…` once a second and passes on the lines it has not passed yet
 * (by time and message); the shape is that of a live follow over SSE, which can take its place.
 */
import { SkiffError } from '../shared/errors.js';
import type { SkiffClient } from './client.js';
import type { LogEntry } from './logs.js';

/** How often the platform is asked, and how many of the latest lines each time. */
const POLL_MS = 1000;
const POLL_LIMIT = 500;

export interface FollowOptions {
  name: string;
  /**
   * Only lines at or after this time (ISO 8601); default: only lines newer than the platform's newest
   * at the first answer (whatever the two clocks say), or all of a function that does not exist yet.
   */
  since?: string;
  signal: AbortSignal;
}

/**
 * Calls `onEntry` for each new line of `name`, oldest first, until `signal` aborts; resolves then.
 * A failed poll (the function does not exist yet, the platform restarts) is retried at the next tick.
 */
export async function followFunctionLogs(
  client: SkiffClient,
  options: FollowOptions,
  onEntry: (entry: LogEntry) => void,
): Promise<void> {
  const { name, signal } = options;
  // the newest time passed on, and the keys of the lines at that very time (several share a millisecond)
  let lastTs = options.since ?? '';
  let atLastTs = new Set<string>();
  let primed = options.since !== undefined;
  while (!signal.aborted) {
    try {
      const { body } = await client.api<{ logs: LogEntry[] }>(
        'GET',
        `/v1/functions/${encodeURIComponent(name)}/logs`,
        { query: { limit: POLL_LIMIT } },
      );
      for (const entry of body.logs) {
        if (signal.aborted) return;
        const key = `${entry.stream}\u0000${entry.invocationId ?? ''}\u0000${entry.message}`;
        if (!primed) {
          // the lines there before the follow began: remembered, not passed on
          if (entry.ts > lastTs) atLastTs = new Set();
          if (entry.ts >= lastTs) {
            lastTs = entry.ts;
            atLastTs.add(key);
          }
          continue;
        }
        if (entry.ts < lastTs || (entry.ts === lastTs && atLastTs.has(key))) continue;
        if (entry.ts > lastTs) {
          lastTs = entry.ts;
          atLastTs = new Set();
        }
        atLastTs.add(key);
        onEntry(entry);
      }
      primed = true;
    } catch (err) {
      // not there yet: every line it will have is new; the platform away for a moment: try again
      if (err instanceof SkiffError && err.code === 'SKIFF_E_FUNCTION_NOT_FOUND') primed = true;
    }
    await pause(POLL_MS, signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
