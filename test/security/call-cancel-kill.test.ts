/**
 * Red team (round two): a call is cancelled when its caller ends (connection.ts onAbandoned), and the
 * cancel then probes the callee's instance like a timeout does: a bridge that does not answer the PING
 * within 250 ms is killed as hung, and that exit counts as the callee's crash (pool failures, then the
 * crash-loop back-off, SKIFF_E_CRASH_LOOP for everyone). Any function may call another unless the
 * callee lists access.callers, so a hostile caller that calls an honest CPU-bound function (a handler
 * that computes for a while without yielding) and ends at once gets the callee's instance killed each
 * time, and after a few such calls the callee refuses its own clients. The safe behaviour asserted:
 * after four such calls the callee still answers an ordinary request (a cancel it did not ask for
 * is not its crash).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
  await p.deployAll({ 'cpu-busy': 'cpu-busy', 'call-and-leave': 'call-and-leave' });
}, 60_000);

afterAll(async () => {
  const dir = p.dataDir;
  await p.stop();
  await removeDir(dir);
});

describe('a caller that ends while its callee computes', () => {
  it('does not put the callee in a crash loop', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await p.call('/call-and-leave/', { method: 'POST', body: '' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      // the callee's cancelled run ends (it is killed, or finishes its 2 s) before the next try
      await waitFor(
        'the callee to be idle',
        async () => {
          const r = await p.api('/v1/functions/cpu-busy');
          const body = (await r.json()) as { instances?: { inFlight?: number }[] };
          return (body.instances ?? []).every((x) => (x.inFlight ?? 0) === 0) ? true : undefined;
        },
        10_000,
      );
    }
    const res = await p.call('/cpu-busy/?ms=10', { method: 'POST', body: '' });
    const text = await res.text();
    const killed = (await p.logs('cpu-busy')).filter((l) => l.message.includes('not responding')).length;
    // killing a blocked instance may be fair; counting it as the callee's crash, refusing its clients, is not
    expect(res.status, `${text} (instances killed as hung after a cancel: ${killed})`).toBe(200);
  }, 90_000);
});
