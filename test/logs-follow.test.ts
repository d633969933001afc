/**
 * Logs that follow (issue 20 item 4): `GET /v1/functions/{name}/logs?follow=true` and
 * `GET /v1/logs?follow=true` as Server-Sent Events on the real platform, read by a real HTTP client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type LogLine, type TestPlatform } from './helpers/platform.js';
import { openSse, saying, type SseStream } from './helpers/sse.js';
import { waitUntil } from './helpers/wait.js';

let p: TestPlatform;
const open: SseStream[] = [];

const follow = async (route: string, headers: Record<string, string> = {}): Promise<SseStream> => {
  const stream = await openSse(`${p.controlUrl}${route}`, { authorization: `Bearer ${p.token}`, ...headers });
  open.push(stream);
  return stream;
};

/** Calls a function through the gateway; its invocation id. */
const call = async (route: string): Promise<string> => {
  const res = await p.call(route);
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get('x-skiff-invocation-id') ?? '';
};

beforeAll(async () => {
  p = await startPlatform({ config: { control: { maxLogStreams: 4 } } });
  await p.deployAll({ echo: 'echo-cjs', other: 'echo-cjs', steps: 'log-steps' });
}, 120_000);

afterAll(async () => {
  for (const s of open) s.close();
  await p.stop();
  await removeDir(p.dataDir);
});

describe('following a function’s log', () => {
  it('sends the recent lines, then lines logged after the stream opened, each with an id', async () => {
    const s = await follow('/v1/functions/echo/logs?follow=true&limit=2');
    expect(s.status).toBe(200);
    await s.next('the recent lines', (e) => e.event === 'message');
    await call('/echo/live-one');
    const live = await s.next('the live line', saying('GET /live-one'));
    expect(live.id).toMatch(/^\d+$/);
    // the catch-up respected limit=2
    expect(s.events.filter((e) => e.event === 'message').length).toBeLessThanOrEqual(3);
    s.close();
  });

  it('resumes with Last-Event-ID: exactly the lines missed while disconnected', async () => {
    const first = await follow('/v1/functions/echo/logs?follow=true&limit=1');
    await call('/echo/before-drop');
    const seen = await first.next('the line before the drop', saying('GET /before-drop'));
    first.close();
    await call('/echo/missed-1');
    await call('/echo/missed-2');
    const all = await p.logs('echo');
    const at = all.findIndex((l) => l.message.includes('GET /before-drop'));
    const missed = all.slice(at + 1).map((l) => l.message);
    expect(missed.some((m) => m.includes('GET /missed-2'))).toBe(true);

    const again = await follow('/v1/functions/echo/logs?follow=true', { 'last-event-id': seen.id ?? '' });
    await again.next('the last missed line', saying('GET /missed-2'));
    expect(again.entries().map((e) => e.message)).toEqual(missed);

    // the same with the query parameter, from the last line: nothing old comes again
    const last = again.events.filter((e) => e.event === 'message').at(-1)?.id ?? '';
    const third = await follow(`/v1/functions/echo/logs?follow=true&lastEventId=${last}`);
    await call('/echo/after-resume');
    await third.next('the next live line', saying('GET /after-resume'));
    expect(third.entries().map((e) => e.message)).toEqual([expect.stringContaining('GET /after-resume')]);
    again.close();
    third.close();
  });

  it('says so with event: gap when the id is older than the log kept, then sends what is kept', async () => {
    const s = await follow('/v1/functions/echo/logs?follow=true', { 'last-event-id': '0' });
    await s.next('a line', (e) => e.event === 'message');
    expect(s.events.some((e) => e.event === 'gap')).toBe(false); // offset 0 is still kept
    s.close();
    // an id past the end (the log began again: the function was deleted and deployed again)
    const ahead = await follow('/v1/functions/echo/logs?follow=true', { 'last-event-id': '999999999' });
    const gap = await ahead.next('the gap event', (e) => e.event === 'gap');
    expect(gap.data).toContain('began again');
    await ahead.next('the log from its start', (e) => e.event === 'message');
    expect(ahead.entries()[0]?.stream).toBe('build');
    ahead.close();
    const bad = await follow('/v1/functions/echo/logs?follow=true', { 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('SKIFF_E_INVALID_REQUEST');
  });
});

describe('filters', () => {
  it('since (an ISO time or a duration) and invocationId filter the plain form', async () => {
    await call('/other/early');
    await waitUntil('the early line', async () =>
      (await p.logs('other')).some((l) => l.message.includes('/early')),
    );
    const cut = new Date().toISOString();
    const late = await call('/other/late');
    const get = async (q: string): Promise<LogLine[]> =>
      ((await (await p.api(`/v1/functions/other/logs?${q}`)).json()) as { logs: LogLine[] }).logs;
    expect((await get(`since=${encodeURIComponent(cut)}`)).map((l) => l.message)).toEqual([
      expect.stringContaining('GET /late'),
    ]);
    expect((await get('since=10m')).some((l) => l.message.includes('/early'))).toBe(true);
    const one = await get(`invocationId=${late}`);
    expect(one.map((l) => l.invocationId)).toEqual([late]);
    const refused = await p.api('/v1/functions/other/logs?since=yesterday');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('neither a duration');
  });

  it('invocationId and since filter the follow form, catch-up and live lines alike', async () => {
    const accepted = await p.call('/steps?q=a&ms=600', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
    });
    const { id } = (await accepted.json()) as { id: string };
    const s = await follow(`/v1/functions/steps/logs?follow=true&invocationId=${id}&since=1m`);
    const other = call('/steps?q=b&ms=0');
    await s.next('the live second line of the invocation', saying('step 2 a'));
    await other;
    expect(s.entries().map((e) => e.invocationId)).toEqual(s.entries().map(() => id));
    expect(s.entries().some((e) => e.message.includes(' b'))).toBe(false);
    s.close();
  });
});

describe('the platform-wide stream', () => {
  it('sees lines of two functions, each naming its function', async () => {
    const s = await follow('/v1/logs?follow=true&limit=1');
    await call('/echo/from-echo');
    await call('/other/from-other');
    const a = await s.next('echo’s line', saying('GET /from-echo'));
    const b = await s.next('other’s line', saying('GET /from-other'));
    expect(JSON.parse(a.data)).toMatchObject({ function: 'echo' });
    expect(JSON.parse(b.data)).toMatchObject({ function: 'other' });
    expect(a.id).toMatch(/^echo:\d+:\d+$/);

    // resuming from echo's line: other's line comes again, echo's does not
    s.close();
    const again = await follow('/v1/logs?follow=true', { 'last-event-id': a.id ?? '' });
    await again.next('other’s line again', saying('GET /from-other'));
    expect(again.entries().some((e) => e.message.includes('GET /from-echo'))).toBe(false);
    again.close();

    const plain = (await (await p.api('/v1/logs?limit=1000&since=10m')).json()) as {
      logs: { function: string }[];
    };
    expect(new Set(plain.logs.map((l) => l.function))).toEqual(new Set(['echo', 'other', 'steps']));
  });
});

describe('bounds and endings', () => {
  it('refuses a stream over control.maxLogStreams with SKIFF_E_TOO_MANY_LOG_STREAMS, and takes one once a stream closed', async () => {
    for (const s of open) s.close();
    await waitUntil('the closed streams to be let go', async () => {
      const probe = await follow('/v1/functions/echo/logs?follow=true&limit=1');
      probe.close();
      return probe.status === 200;
    });
    const streams = [];
    for (let i = 0; i < 4; i++) streams.push(await follow('/v1/functions/echo/logs?follow=true&limit=1'));
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    const refused = await follow('/v1/logs?follow=true');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({
      error: { code: 'SKIFF_E_TOO_MANY_LOG_STREAMS', details: { maxLogStreams: 4 } },
    });
    streams[0]?.close();
    await waitUntil('a stream to be free again', async () => {
      const probe = await follow('/v1/logs?follow=true&limit=1');
      probe.close();
      return probe.status === 200;
    });
    for (const s of streams) s.close();
  });

  it('needs the admin token', async () => {
    const res = await fetch(`${p.controlUrl}/v1/logs?follow=true`);
    expect(res.status).toBe(401);
    const wrong = await fetch(`${p.controlUrl}/v1/functions/echo/logs?follow=true`, {
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.status).toBe(401);
  });

  it('ends a function’s stream when the function is deleted', async () => {
    await p.deployAll({ doomed: 'echo-cjs' });
    const s = await follow('/v1/functions/doomed/logs?follow=true&limit=1');
    await s.next('a line', (e) => e.event === 'message');
    expect((await p.api('/v1/functions/doomed', { method: 'DELETE' })).status).toBe(204);
    await s.next('the end event', (e) => e.event === 'end');
    await s.closed;
    expect(JSON.parse(s.events.at(-1)?.data ?? '{}')).toEqual({ reason: 'deleted' });
  });
});

describe('stopping the platform', () => {
  it('ends open streams, and the stop does not wait for them', async () => {
    const q = await startPlatform();
    try {
      await q.deployAll({ echo: 'echo-cjs' });
      const s = await openSse(`${q.controlUrl}/v1/functions/echo/logs?follow=true`, {
        authorization: `Bearer ${q.token}`,
      });
      const all = await openSse(`${q.controlUrl}/v1/logs?follow=true`, {
        authorization: `Bearer ${q.token}`,
      });
      await s.next('a line', (e) => e.event === 'message');
      const started = Date.now();
      await q.stop();
      expect(Date.now() - started).toBeLessThan(10_000);
      await s.closed;
      await all.closed;
      expect(s.events.at(-1)).toMatchObject({ event: 'end', data: '{"reason":"stopping"}' });
    } finally {
      await removeDir(q.dataDir);
    }
  }, 60_000);
});
