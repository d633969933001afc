/**
 * Gives back the memory an idle platform holds only because V8's young generation grew (start-up,
 * a burst of requests) and stays grown: V8 never shrinks it on its own while the process is idle, and
 * a regular full collection leaves it as is. A full collection of the `last-resort` flavor does shrink
 * it (docs/architecture.md, "Idle memory"). It runs once the platform has been quiet for
 * `memory.reduceAfterIdleMs` (nothing started, settled or in progress on any source, seen by a check
 * four times per that time), at most once per quiet period, never while work is in flight. The collection is synchronous: what arrives
 * meanwhile waits for it (tens of milliseconds).
 */
import v8 from 'node:v8';
import type { RequestListener } from 'node:http';
import { exposedGc } from './exposed-gc.js';
import type { Logger } from './logger.js';

/** Something that works now and then: the reducer waits for it to be quiet. */
export interface ActivitySource {
  /** A number that changes whenever work starts or ends (a counter); read once per check. */
  activity(): number;
  /** Work in progress now. */
  busy(): boolean;
}

export interface MemoryReducerOptions {
  sources: readonly ActivitySource[];
  /** False until the start is over (minimum instances started): no collection before. */
  ready(): boolean;
}

/** Checks four times per `afterIdleMs` (0: never); returns the function that stops it. */
export function startMemoryReducer(
  afterIdleMs: number,
  platformLogger: Logger,
  options: MemoryReducerOptions,
): () => void {
  const { sources } = options;
  const logger = platformLogger.child({ part: 'memory' });
  if (afterIdleMs <= 0) return () => undefined;
  // so that the collection comes between 1 and 1.25 quiet times after the last activity
  const every = Math.max(1, Math.round(afterIdleMs / 4));
  let seen = total(sources);
  let quietSince = performance.now();
  let reduced = false;
  const check = (): void => {
    const now = total(sources);
    if (now !== seen || !options.ready() || sources.some((s) => s.busy())) {
      // activity since the last check, or work in progress: the quiet period starts again
      if (now !== seen) reduced = false;
      seen = now;
      quietSince = performance.now();
    } else if (!reduced && performance.now() - quietSince >= afterIdleMs) {
      reduced = true;
      reduce(logger);
    }
  };
  const timer = setInterval(check, every);
  timer.unref();
  return () => clearInterval(timer);
}

function total(sources: readonly ActivitySource[]): number {
  let n = 0;
  for (const s of sources) n += s.activity();
  return n;
}

/** One last-resort full collection, its pause and what it gave back logged at debug level. */
function reduce(logger: Logger): void {
  // not kept between collections: the context it comes from would stay in memory with it
  const collect = exposedGc();
  if (collect === undefined) return;
  const before = newSpaceCommitted();
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const pauseMs = performance.now() - started;
  logger.debug(
    {
      pauseMs: Math.round(pauseMs * 10) / 10,
      newSpaceMiB: [mib(before), mib(newSpaceCommitted())],
      rssMiB: [mib(rssBefore), mib(process.memoryUsage.rss())],
    },
    'idle: heap collected and the young generation shrunk',
  );
}

function newSpaceCommitted(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/**
 * `app` counting the requests that change something (any method but GET and HEAD: deploys, deletes,
 * settings) as activity, in progress until their response closes. Reads (a metrics scrape, a log
 * stream left open) do not keep the platform from being quiet.
 */
export function watchChanges(app: RequestListener): { app: RequestListener; source: ActivitySource } {
  let changes = 0;
  let open = 0;
  const watched: RequestListener = (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      changes++;
      open++;
      res.once('close', () => {
        changes++;
        open--;
      });
    }
    app(req, res);
  };
  return { app: watched, source: { activity: () => changes, busy: () => open > 0 } };
}
