/**
 * The log follow of `skiff dev`: a function's log lines from the moment dev starts, live, over the
 * control API's event stream (logs-follow.ts). The function may not exist yet (dev's first deploy
 * makes it) or be deleted and made again while dev runs: then the follow waits and starts over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SkiffError } from '../shared/errors.js';
import type { SkiffClient } from './client.js';
import { followLogs } from './logs-follow.js';
import type { LogEntry } from './logs.js';

/** How long to wait before asking again for a function that is not there (yet). */
const ABSENT_RETRY_MS = 500;

export interface DevFollowOptions {
  name: string;
  /** Only lines at or after this time (ISO 8601, the platform's clock); default: when the follow starts. */
  since?: string;
  signal: AbortSignal;
  /** Told of gaps and reconnects. */
  onNotice?: (message: string) => void;
}

/** Calls `onEntry` for each line of `name` as it is written, until `signal` aborts; resolves then. */
export async function followFunctionLogs(
  client: SkiffClient,
  options: DevFollowOptions,
  onEntry: (entry: LogEntry) => void,
): Promise<void> {
  const { name, signal } = options;
  const since = options.since ?? new Date().toISOString();
  while (!signal.aborted) {
    try {
      const end = await followLogs(
        client,
        { name, since, limit: 10_000, signal, onNotice: options.onNotice },
        onEntry,
      );
      if (end === 'aborted') return;
      // deleted while dev runs: the next deploy makes it again
    } catch (err) {
      if (signal.aborted) return;
      const absent = err instanceof SkiffError && err.code === 'SKIFF_E_FUNCTION_NOT_FOUND';
      const away = err instanceof SkiffError && err.code === 'SKIFF_E_CLI_UNREACHABLE';
      if (!absent && !away) throw err;
    }
    await sleep(ABSENT_RETRY_MS, undefined, { signal }).catch(() => undefined);
  }
}
