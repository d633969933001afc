/**
 * A workflow's mapping changed while events flow (docs/composition.md, "Workflows"): a member casts
 * every event to its output alias; halfway through, the alias is mapped from one target to another.
 * Every event must reach exactly one of the two targets, exactly once, and nothing restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

const EVENTS = 60;
const SWITCH_AT = 25;

describe('a workflow mapping changed while events flow', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ 'wf-src': 'cast-node', 'wf-old': 'wf-sink', 'wf-new': 'wf-sink' });
  });

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  const apply = async (target: string): Promise<void> => {
    const res = await p.api('/v1/workflows/live', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ functions: { 'wf-src': { out: [target] } } }),
    });
    expect([200, 201], await res.text()).toContain(res.status);
  };

  /** Deliveries per payload recorded by a target in its state. */
  const deliveries = async (fn: string): Promise<Map<string, number>> => {
    const res = await p.api(`/v1/functions/${fn}/state?prefix=seen-`);
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: { key: string }[] };
    const out = new Map<string, number>();
    for (const { key } of keys) {
      const value = await p.api(`/v1/functions/${fn}/state/${key}`);
      out.set(key.slice('seen-'.length), Number(await value.text()));
    }
    return out;
  };

  it('delivers every event to exactly one of the old or new targets, once', async () => {
    await apply('wf-old');
    const instancesBefore = await instanceIds('wf-src');
    expect(instancesBefore.length).toBeGreaterThan(0);
    // events flow from several clients at once; the mapping changes while some are in flight
    const sent: Promise<void>[] = [];
    for (let i = 0; i < EVENTS; i++) {
      if (i === SWITCH_AT) sent.push(apply('wf-new'));
      sent.push(
        p.call('/wf-src/cast?to=out', { method: 'POST', body: `e${i}` }).then(async (res) => {
          expect(res.status, await res.clone().text()).toBe(200);
          expect(((await res.json()) as { id: string | null }).id).toEqual(expect.any(String));
        }),
      );
      if (i % 5 === 4) await Promise.all(sent.splice(0));
    }
    await Promise.all(sent);
    const [old, fresh] = await waitFor('every event delivered', async () => {
      const a = await deliveries('wf-old');
      const b = await deliveries('wf-new');
      return a.size + b.size >= EVENTS ? [a, b] : undefined;
    });
    const events = Array.from({ length: EVENTS }, (_, i) => `e${i}`);
    for (const e of events) {
      const count = (old.get(e) ?? 0) + (fresh.get(e) ?? 0);
      expect(count, `deliveries of ${e}`).toBe(1);
    }
    // the first events went to the old target, the last ones to the new: the change took effect live
    expect(old.has('e0')).toBe(true);
    expect(fresh.has(`e${EVENTS - 1}`)).toBe(true);
    expect(old.size).toBeGreaterThan(0);
    expect(fresh.size).toBeGreaterThan(0);
    // no instance of the member was restarted for it
    expect(await instanceIds('wf-src')).toEqual(expect.arrayContaining(instancesBefore));
  });

  async function instanceIds(fn: string): Promise<string[]> {
    const res = await p.api(`/v1/functions/${fn}`);
    const body = (await res.json()) as {
      function?: { instances?: { id: string }[] };
      instances?: { id: string }[];
    };
    return (body.function?.instances ?? body.instances ?? []).map((i) => i.id);
  }
});
