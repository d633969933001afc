/**
 * A real Server-Sent Events client for tests: reads an event stream over fetch and keeps every event,
 * so a test can wait for the one it expects.
 */
import { waitFor } from './wait.js';

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseStream {
  status: number;
  events: SseEvent[];
  /** The data of the `message` events, parsed. */
  entries(): { message: string; function?: string; invocationId?: string; stream: string }[];
  /** Resolves with the first event `match` accepts (waiting up to `ms`). */
  next(what: string, match: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent>;
  /** Resolves when the server ended the stream. */
  closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
  /** The body of a refused request (not 200). */
  text: string;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let closedFlag = false;
  let text = '';
  let closed: Promise<void>;
  if (res.status !== 200 || res.body === null) {
    text = await res.text();
    closedFlag = true;
    closed = Promise.resolve();
  } else {
    const body = res.body;
    closed = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const ev: SseEvent = { event: 'message', id: undefined, data: '' };
            let hasData = false;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon === -1 ? line : line.slice(0, colon);
              const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'data') {
                ev.data = hasData ? `${ev.data}\n${value}` : value;
                hasData = true;
              } else if (field === 'event') ev.event = value;
              else if (field === 'id') ev.id = value;
            }
            if (hasData) events.push(ev);
          }
        }
      } catch {
        // aborted by close(), or the connection was cut
      } finally {
        closedFlag = true;
      }
    })();
  }
  return {
    status: res.status,
    events,
    text,
    entries: () =>
      events
        .filter((e) => e.event === 'message')
        .map((e) => JSON.parse(e.data) as ReturnType<SseStream['entries']>[number]),
    next: (what, match, ms = 20_000) =>
      waitFor(
        () => `${what}; events so far: ${JSON.stringify(events.slice(-5))}`,
        () => events.find(match),
        ms,
      ),
    closed,
    isClosed: () => closedFlag,
    close: () => controller.abort(),
  };
}

/** Whether an event is a log line whose message includes `text`. */
export const saying =
  (text: string) =>
  (e: SseEvent): boolean =>
    e.event === 'message' && (JSON.parse(e.data) as { message: string }).message.includes(text);
