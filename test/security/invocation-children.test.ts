/**
 * Red team: an invocation's view lists at most 1000 children (the casts it made) and says nothing of the
 * rest, so `skiff invocation get` prints "Children: 1000" for a run that cast 1100 times: the tree shown
 * is silently wrong. Asserted: the view of an invocation with 1100 children says how many it has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
const N = 1100;

beforeAll(async () => {
  // more casts than a chain may make by default (functions.maxChainCasts 1000)
  p = await startPlatform({ config: { functions: { maxChainCasts: 2000 } } });
  await p.deployAll({ caster: 'cast-node', sink: 'cast-sink' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe('the children of an invocation', () => {
  it('are counted in full when there are more than the view lists', async () => {
    // an async run of caster casting N times to sink (delayed casts: only the rows matter)
    const res = await p.call(`/caster/fanout?n=${N}&to=sink`, {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: '',
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const view = await waitFor(
      'the caster to finish',
      async () => {
        const r = await p.api(`/v1/invocations/${id}`);
        const { invocation } = (await r.json()) as {
          invocation: { status: string; children: string[] } & Record<string, unknown>;
        };
        return invocation.status === 'succeeded' ? invocation : undefined;
      },
      60_000,
    );
    const others = Object.entries(view).filter(([k]) => k !== 'children');
    const told = view.children.length === N || others.some(([, v]) => v === N);
    expect(told, `the view lists ${view.children.length} children and no count of ${N}`).toBe(true);
  }, 90_000);
});
