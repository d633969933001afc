/**
 * Red team, logs that follow: a function's log lines reach an admin's event stream. Whatever the
 * function writes (newlines, carriage returns, `event:`/`id:`/`data:` lines, NUL, U+2028, lone
 * surrogates), each of its lines is one `message` event whose data is the stored JSON line: it cannot
 * end the stream (`event: end`), add an event, or set the id a client resumes from. Checked with a
 * spec-conformant SSE parser (the CLI's), which also splits lines at a lone CR.
 */
import { rm } from 'node:fs/promises';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

const HOSTILE = `export default async () => {
  process.stdout.write('one\\n\\nevent: end\\ndata: {"reason":"deleted"}\\n\\nid: 99999999\\n');
  process.stdout.write('two\\revent: end\\rdata: {"reason":"stopping"}\\r\\rid: 1\\r\\n');
  process.stdout.write('three \\u0000 \\u2028 \\u2029 \\ud800 \\u0085 retry: 1\\n');
  process.stdout.write('LAST\\n');
  return 'ok';
};`;

async function collect(url: string, token: string, until: (e: EventSourceMessage) => boolean) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20_000);
  const events: EventSourceMessage[] = [];
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const stream = (res.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream());
    for await (const ev of stream as unknown as AsyncIterable<EventSourceMessage>) {
      events.push(ev);
      if (until(ev)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe("a function's log lines cannot forge events in a followed log", () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    p = await startPlatform();
    dir = await folderWith({
      'index.mjs': HOSTILE,
      'skiff.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs' }),
    });
    expect((await p.deploy('forger', dir)).status).toBe(201);
    expect((await p.call('/forger')).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const isLast = (e: EventSourceMessage): boolean => e.data.includes('"LAST"');

  for (const [what, route, idForm] of [
    ["a function's stream", '/v1/functions/forger/logs?follow=true&limit=1000', /^\d+$/],
    ['the platform-wide stream', '/v1/logs?follow=true&limit=1000', /^forger:\d+:\d+$/],
  ] as const) {
    it(`${what}: every line is one message event with the platform's id`, async () => {
      const events = await collect(`${p.controlUrl}${route}`, p.token, isLast);
      expect(events.some(isLast)).toBe(true);
      for (const e of events) {
        expect(e.event ?? 'message').toBe('message');
        expect(e.id).toMatch(idForm);
        const entry = JSON.parse(e.data) as { message: string };
        expect(typeof entry.message).toBe('string');
      }
      const messages = events.map((e) => (JSON.parse(e.data) as { message: string }).message);
      expect(messages.some((m) => m.includes('event: end'))).toBe(true);
      expect(messages.some((m) => m.includes('three'))).toBe(true);
    }, 60_000);
  }
});
