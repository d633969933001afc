/**
 * Red team, logs that follow: the platform-wide stream resumed (`Last-Event-ID`) after the function
 * its last id names was deleted and created again. The id's offset was read in the new log: when the
 * new log was already longer, its lines before that offset were skipped without a `gap` event. The id
 * names its line's time too: a line of that time must end at that offset, else the log began again.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse, saying } from '../helpers/sse.js';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

const FN = `export default async (request) => {
  console.log('call ' + new URL(request.url).searchParams.get('n'));
  return 'ok';
};`;

describe('platform-wide follow resumed across a delete and re-create', () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    p = await startPlatform();
    dir = await folderWith({
      'index.mjs': FN,
      'skiff.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs' }),
    });
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the new log from its start, or says lines were missed', async () => {
    const auth = { authorization: `Bearer ${p.token}` };
    expect((await p.deploy('again', dir)).status).toBe(201);
    const first = await openSse(`${p.controlUrl}/v1/logs?follow=true&limit=1000`, auth);
    const firstLine = await first.next('a first line of again', (e) => e.event === 'message');
    first.close();
    // the old log's first id: a small offset
    expect(firstLine.id).toMatch(/^again:\d+:\d+$/);
    expect((await p.api('/v1/functions/again', { method: 'DELETE' })).status).toBe(204);
    expect((await p.deploy('again', dir)).status).toBe(201);
    for (let n = 0; n < 3; n++) expect((await p.call(`/again?n=${n}`)).status).toBe(200);
    const resumed = await openSse(`${p.controlUrl}/v1/logs?follow=true`, {
      ...auth,
      'last-event-id': firstLine.id as string,
    });
    await resumed.next('the last call', saying('call 2'));
    resumed.close();
    const gap = resumed.events.some((e) => e.event === 'gap');
    const messages = resumed.entries().map((e) => e.message);
    // the new log's first line (the same text as the old one's) is sent, or a gap is said
    const firstMessage = (JSON.parse(firstLine.data) as { message: string }).message;
    expect(gap || messages.includes(firstMessage)).toBe(true);
  }, 60_000);
});
