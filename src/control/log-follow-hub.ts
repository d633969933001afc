/**
 * Followers of function logs (`GET /v1/functions/{name}/logs?follow=true`, `GET /v1/logs?follow=true`):
 * Server-Sent Events streams fed by the log store's append hook. Each stream first gets the recent
 * lines (or, resuming with `Last-Event-ID`, exactly the lines after that id, read back from the files),
 * then the lines appended since. Bounded: at most `maxStreams` streams, a stream whose client reads
 * too slowly is cut (it resumes from its last id), and every stream ends when the platform stops.
 * Design: docs/architecture.md, "Logs that follow".
 */
import type { ServerResponse } from 'node:http';
import type { LogEntry } from '../model/log-record.js';
import { SkiffError } from '../shared/errors.js';
import type { FileLogStore, LogListener } from '../store/file-logs.js';
import type { PositionedEntry } from '../store/log-positions.js';

/** Which lines a follower wants. */
export interface LogFilter {
  /** Only lines at or after this time (ms since the epoch). */
  sinceMs?: number | undefined;
  /** Only the lines of this invocation. */
  invocationId?: string | undefined;
}

export interface FollowRequest {
  /** One function's log, or every function's (undefined). */
  fn: string | undefined;
  filter: LogFilter;
  /** How many recent lines come first (when not resuming). */
  limit: number;
  /** The `Last-Event-ID` sent back by a reconnecting client. */
  lastEventId: string | undefined;
}

export interface FollowLimits {
  maxStreams: number;
  /** A comment line this often, so that proxies keep an idle stream open. */
  heartbeatMs: number;
  /** Bytes a stream may hold unsent for a client that does not read; beyond it the stream is cut. */
  maxBufferedBytes: number;
  /** Bytes of a function's log read back when a stream opens or resumes. */
  maxCatchUpBytes: number;
}

export const FOLLOW_DEFAULTS: Omit<FollowLimits, 'maxStreams'> = {
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  maxCatchUpBytes: 4 * 1024 * 1024,
};

/** Every function's catch-up together reads at most this much (split among them). */
const MAX_ALL_CATCH_UP_BYTES = 16 * 1024 * 1024;

interface Follower {
  fn: string | undefined;
  res: ServerResponse;
  filter: LogFilter;
  /** Live events that came while the catch-up was read (sent after it); undefined once live. */
  pending: string[] | undefined;
  pendingBytes: number;
}

/** A line of a function's log with what an event needs. */
interface Line extends PositionedEntry {
  fn: string;
}

/** The hub of each log store (one per store: server-stores.ts makes it). */
const hubs = new WeakMap<FileLogStore, LogFollowHub>();

export class LogFollowHub implements LogListener {
  /** The hub that follows `store`, if one does. */
  static of(store: FileLogStore): LogFollowHub | undefined {
    return hubs.get(store);
  }

  private readonly followers = new Set<Follower>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: FileLogStore,
    private readonly limits: FollowLimits,
  ) {
    store.listen(this);
    hubs.set(store, this);
  }

  /** How many streams are open. */
  get size(): number {
    return this.followers.size;
  }

  appended(fn: string, offset: number, text: string): void {
    if (this.followers.size === 0) return;
    let lines: Line[] | undefined;
    for (const f of this.followers) {
      if (f.fn !== undefined && f.fn !== fn) continue;
      lines ??= split(fn, offset, text);
      for (const line of lines) if (matches(f.filter, line.entry)) this.send(f, event(f, line));
    }
  }

  removed(fn: string): void {
    for (const f of this.followers) if (f.fn === fn) this.end(f, 'deleted');
  }

  /** Ends every stream (the platform stops); a client reconnects to the next platform with its id. */
  close(): void {
    this.closed = true;
    for (const f of this.followers) this.end(f, 'stopping');
    clearInterval(this.heartbeat);
  }

  /**
   * Answers `res` with the event stream of `req`. Throws (before anything is written) when the
   * platform stops or `maxStreams` are open.
   */
  async follow(res: ServerResponse, req: FollowRequest): Promise<void> {
    if (this.closed) throw new SkiffError('SKIFF_E_SHUTTING_DOWN', 'the platform is stopping');
    if (this.followers.size >= this.limits.maxStreams) {
      throw new SkiffError(
        'SKIFF_E_TOO_MANY_LOG_STREAMS',
        `${this.limits.maxStreams} log streams are open already (control.maxLogStreams): close one, or follow without -f`,
        { details: { maxLogStreams: this.limits.maxStreams } },
      );
    }
    const resume = parseEventId(req.fn, req.lastEventId);
    const f: Follower = { fn: req.fn, res, filter: req.filter, pending: [], pendingBytes: 0 };
    // listening first, in the same turn as the read's end is taken: no line falls between the two
    this.followers.add(f);
    const names = req.fn !== undefined ? [req.fn] : this.store.functionsWithLogs();
    const perFn =
      req.fn !== undefined
        ? this.limits.maxCatchUpBytes
        : Math.min(
            this.limits.maxCatchUpBytes,
            Math.floor(MAX_ALL_CATCH_UP_BYTES / Math.max(1, names.length)),
          );
    const reading = Promise.all(
      names.map((fn) => {
        const from = resume?.offsets.get(fn) ?? 0;
        // a platform-wide id names its line's time too: read that line, to see that it is still there
        const probe = resume?.offsets.has(fn) === true && req.fn === undefined ? PROBE_BYTES : 0;
        return this.store
          .range(fn, Math.max(0, from - probe), perFn + probe)
          .then((r) => ({ fn, from, probed: from - probe, ...r }));
      }),
    );
    res.on('close', () => this.followers.delete(f));
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    this.startHeartbeat();
    let ranges;
    try {
      ranges = await reading;
    } catch {
      this.cut(f);
      return;
    }
    if (!this.followers.has(f)) return;
    let lines: Line[] = [];
    const notes: string[] = [];
    for (const r of ranges) {
      let from = r.from;
      if (
        resume?.offsets.has(r.fn) === true &&
        (from > r.end || (req.fn === undefined && otherLog(r, resume.sinceMs)))
      ) {
        // an id past the end, or whose line is not there: the log began again (the function was
        // deleted and deployed again)
        notes.push(`${r.fn}: the log began again since that id; sending it from its start`);
        const again = await this.store.range(r.fn, 0, perFn);
        r.lines = again.lines.filter((l) => l.end <= r.end);
        from = 0;
      } else {
        // the probed line and those before it were sent already
        r.lines = r.lines.filter((l) => l.end > from);
        if (resume?.offsets.has(r.fn) === true && r.readFrom > from) {
          notes.push(
            `${r.fn}: log lines before ${r.readFrom} are no longer kept (rotated away or over the read limit); some lines were missed`,
          );
        }
      }
      for (const l of r.lines) {
        if (resume !== undefined && !resume.offsets.has(r.fn) && Date.parse(l.entry.ts) < resume.sinceMs)
          continue;
        if (matches(req.filter, l.entry)) lines.push({ ...l, fn: r.fn });
      }
    }
    if (req.fn === undefined) lines.sort((a, b) => a.entry.ts.localeCompare(b.entry.ts));
    if (resume === undefined) lines = lines.slice(-req.limit);
    for (const note of notes) this.send(f, `event: gap\ndata: ${JSON.stringify({ message: note })}\n\n`);
    for (const line of lines) this.send(f, event(f, line));
    const pending = f.pending ?? [];
    f.pending = undefined;
    f.pendingBytes = 0;
    for (const text of pending) this.send(f, text);
  }

  private send(f: Follower, text: string): void {
    if (!this.followers.has(f)) return;
    if (f.pending !== undefined) {
      f.pending.push(text);
      f.pendingBytes += text.length;
      if (f.pendingBytes > this.limits.maxBufferedBytes) this.cut(f);
      return;
    }
    f.res.write(text);
    if (f.res.writableLength > this.limits.maxBufferedBytes) this.cut(f);
  }

  /** Cuts a stream whose client does not keep up: it reconnects and resumes from the files. */
  private cut(f: Follower): void {
    this.followers.delete(f);
    f.res.destroy();
  }

  private end(f: Follower, reason: 'deleted' | 'stopping'): void {
    this.followers.delete(f);
    f.res.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== undefined) return;
    this.heartbeat = setInterval(() => {
      if (this.followers.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
        return;
      }
      for (const f of this.followers) if (f.pending === undefined) this.send(f, ': keep-alive\n\n');
    }, this.limits.heartbeatMs);
    this.heartbeat.unref();
  }
}

/** Bytes read before a platform-wide id's offset: more than its line (~17 KiB of text, ~100 KiB as JSON). */
const PROBE_BYTES = 256 * 1024;

/**
 * Whether a platform-wide id's line (ending at `from`, written at `ms`) is not in the log read: the
 * function was deleted and created again, and its new log is already past that offset. Only judged
 * when the read covers the whole line.
 */
function otherLog(
  r: { from: number; probed: number; readFrom: number; lines: PositionedEntry[] },
  ms: number,
): boolean {
  if (r.from === 0 || r.readFrom > Math.max(0, r.probed)) return false;
  const line = r.lines.find((l) => l.end === r.from);
  return line === undefined || Date.parse(line.entry.ts) !== ms;
}

/** The lines of an appended chunk (one or more JSON lines written together). */
function split(fn: string, offset: number, text: string): Line[] {
  const lines: Line[] = [];
  let pos = 0;
  let at = offset;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) break;
    const raw = text.slice(pos, nl);
    at += Buffer.byteLength(raw) + 1;
    pos = nl + 1;
    try {
      lines.push({ fn, end: at, raw, entry: JSON.parse(raw) as LogEntry });
    } catch {
      // not a line of JSON: never written by the store
    }
  }
  return lines;
}

export function matches(filter: LogFilter, entry: LogEntry): boolean {
  if (filter.invocationId !== undefined && entry.invocationId !== filter.invocationId) return false;
  if (filter.sinceMs !== undefined && !(Date.parse(entry.ts) >= filter.sinceMs)) return false;
  return true;
}

/**
 * One event: a function's stream has the line as stored and the line's end offset as id; the
 * platform-wide stream adds `function` and has `<function>:<offset>:<time in ms>` as id.
 */
function event(f: Follower, line: Line): string {
  if (f.fn !== undefined) return `id: ${line.end}\ndata: ${line.raw}\n\n`;
  const ms = Date.parse(line.entry.ts);
  return `id: ${line.fn}:${line.end}:${Number.isNaN(ms) ? 0 : ms}\ndata: {"function":${JSON.stringify(line.fn)},${line.raw.slice(1)}\n\n`;
}

/** Where a resumed stream starts: an offset per function, and a time for the other functions. */
interface Resume {
  offsets: Map<string, number>;
  sinceMs: number;
}

function parseEventId(fn: string | undefined, id: string | undefined): Resume | undefined {
  if (id === undefined || id === '') return undefined;
  const bad = (): SkiffError =>
    new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `Last-Event-ID ${JSON.stringify(id.slice(0, 100))} is not an id of this stream: send the id of the last event received, or none to start anew`,
    );
  if (fn !== undefined) {
    if (!/^\d{1,15}$/.test(id)) throw bad();
    return { offsets: new Map([[fn, Number(id)]]), sinceMs: -Infinity };
  }
  const m = /^([a-z0-9][a-z0-9-]{0,62}):(\d{1,15}):(\d{1,15})$/.exec(id);
  if (m === null) throw bad();
  return { offsets: new Map([[m[1] as string, Number(m[2])]]), sinceMs: Number(m[3]) };
}
