/**
 * Follows a function's log, or every function's, over the control API's event stream
 * (`GET /v1/functions/{name}/logs?follow=true`, `GET /v1/logs?follow=true`). When the connection drops
 * (the platform restarts, a proxy cuts it) it reconnects with the last event's id as `Last-Event-ID`,
 * so no line is lost or repeated; it stops when `signal` aborts or the function is deleted.
 * Used by `skiff logs -f` and `skiff dev`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventSourceMessage } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { SkiffError } from '../shared/errors.js';
import { connectionError, skiffErrorFromBody, type SkiffClient } from './client.js';
import type { LogEntry } from './logs.js';

/** A followed line: the entry, the function it is of, and the id to resume after it. */
export interface FollowedEntry extends LogEntry {
  function: string;
  id: string;
}

export interface FollowOptions {
  /** The function to follow; or `all`. */
  name?: string | undefined;
  all?: boolean | undefined;
  /** Only lines from this time on: a duration back (`10m`) or an ISO time. Applies to the first connect. */
  since?: string | undefined;
  /** Only the lines of this invocation. */
  invocation?: string | undefined;
  /** How many recent lines come first (the platform's default: 100). */
  limit?: number | undefined;
  signal: AbortSignal;
  /** Told of gaps and reconnects (a human line, for stderr). */
  onNotice?: ((message: string) => void) | undefined;
  /** The longest wait between two reconnects (ms; default 5000). */
  maxRetryMs?: number | undefined;
}

/** Why following stopped. */
export type FollowEnd = 'aborted' | 'deleted';

/**
 * Characters of one event, at most: a log line is at most about 17 KiB of text (about 100 KiB as
 * JSON, every character escaped); beyond this the stream is not the platform's, and is dropped.
 */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Follows until `signal` aborts ('aborted') or the function is deleted ('deleted'), calling `onEntry`
 * for every line. Throws the platform's error when the first connect is refused (no such function,
 * a bad `since`, too many streams) or the platform cannot be reached at first.
 */
export async function followLogs(
  client: SkiffClient,
  options: FollowOptions,
  onEntry: (entry: FollowedEntry) => void,
): Promise<FollowEnd> {
  const { signal } = options;
  if (options.all !== true && options.name === undefined) {
    throw new SkiffError('SKIFF_E_CLI_USAGE', 'followLogs needs a function name or all');
  }
  const apiPath =
    options.all === true ? '/v1/logs' : `/v1/functions/${encodeURIComponent(options.name as string)}/logs`;
  const maxRetryMs = options.maxRetryMs ?? 5000;
  let lastId: string | undefined;
  let connected = false;
  let retry = 0;
  while (!signal.aborted) {
    const url = new URL(client.controlUrl() + apiPath);
    url.searchParams.set('follow', 'true');
    if (options.limit !== undefined) url.searchParams.set('limit', String(options.limit));
    if (options.since !== undefined && lastId === undefined) url.searchParams.set('since', options.since);
    if (options.invocation !== undefined) url.searchParams.set('invocationId', options.invocation);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const token = client.token();
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    let ended: 'deleted' | 'dropped' = 'dropped';
    try {
      const res = await fetch(url, { headers, signal });
      if (!res.ok) {
        const text = await res.text();
        const err =
          skiffErrorFromBody(text) ??
          new SkiffError('SKIFF_E_INTERNAL', `the platform answered ${res.status} to ${url.pathname}`);
        // a platform starting again may answer 503 for a moment; anything else is the caller's to fix
        if (!connected || res.status !== 503) throw err;
      } else {
        if (retry > 0) options.onNotice?.('reconnected');
        connected = true;
        retry = 0;
        for await (const ev of events(res.body, signal)) {
          if (ev.event === 'end') {
            const reason = (JSON.parse(ev.data) as { reason?: string }).reason;
            if (reason === 'deleted') ended = 'deleted';
            else options.onNotice?.('the platform is stopping');
            break;
          }
          if (ev.event === 'gap') {
            options.onNotice?.(
              (JSON.parse(ev.data) as { message?: string }).message ?? 'log lines were missed',
            );
            continue;
          }
          if (ev.event !== 'message' || ev.data === '') continue;
          const entry = JSON.parse(ev.data) as LogEntry & { function?: string };
          if (ev.id !== undefined) lastId = ev.id;
          onEntry({ ...entry, function: entry.function ?? (options.name as string), id: ev.id ?? '' });
        }
      }
    } catch (err) {
      if (signal.aborted) return 'aborted';
      if (err instanceof SkiffError) throw err;
      if (!connected) throw connectionError(err, url);
    }
    if (ended === 'deleted') return 'deleted';
    if (signal.aborted) return 'aborted';
    const wait = Math.min(maxRetryMs, 250 * 2 ** retry);
    // said once per outage, not at every attempt
    if (retry++ === 0) options.onNotice?.(`connection to ${url.origin} lost; reconnecting…`);
    await sleep(wait, undefined, { signal }).catch(() => undefined); // an abort ends the wait
  }
  return 'aborted';
}

/** The events of a Server-Sent Events body, parsed by eventsource-parser (comments and `retry:` left out). */
async function* events(
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
): AsyncGenerator<SseEvent> {
  if (body === null) return;
  // characters since the last blank line (an event's end): an event that never ends is refused
  let open = 0;
  const bounded = new TransformStream<string, string>({
    transform(chunk, out) {
      const end = chunk.lastIndexOf('\n\n');
      open = end === -1 ? open + chunk.length : chunk.length - end - 2;
      if (open > MAX_EVENT_CHARS) {
        out.error(
          new SkiffError(
            'SKIFF_E_INTERNAL',
            `the platform sent a log event over ${MAX_EVENT_CHARS} characters: it is not a Skiff platform's stream`,
          ),
        );
        return;
      }
      out.enqueue(chunk);
    },
  });
  const stream = body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(bounded)
    .pipeThrough(new EventSourceParserStream());
  for await (const ev of stream as unknown as AsyncIterable<EventSourceMessage>) {
    if (signal.aborted) return;
    yield { event: ev.event ?? 'message', data: ev.data, id: ev.id };
  }
}
