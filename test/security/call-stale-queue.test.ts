/**
 * A call that waits in its callee's queue must leave it when its caller's deadline passes: the caller
 * got SKIFF_E_TIMEOUT then, and nobody waits for the answer. Left there, a hostile caller could fill
 * another function's queue with work nobody wants (for up to maxQueueWaitMs, refusing its real clients
 * with 429), and each stale call would still be run later, for a 1 ms timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionStatus } from '../helpers/function-status.js';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;

/** Answers every invocation after 3 s, one at a time. */
const SLOW = answeringBridge(`
      setTimeout(() => sock.write(frame(5, id, { status: 200, headers: [] })), 3000);
`);

/** Makes 5 calls to `victim` and never answers (its invocation times out after 600 ms). */
const CALLER = answeringBridge(`
      for (let k = 0; k < 5; k++)
        sock.write(frame(12, 1000 + id * 10 + k, { invocationId: meta.invocationId, function: 'victim' }));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const victim = await bridgeFunction(dir, 'victim', SLOW, {
    timeoutMs: 10_000,
    scaling: { maxInstances: 1, concurrency: 1, maxQueue: 10, maxQueueWaitMs: 60_000 },
  });
  expect((await p.deploy('victim', victim)).status).toBe(201);
  const caller = await bridgeFunction(dir, 'caller', CALLER, { timeoutMs: 600 });
  expect((await p.deploy('caller', caller)).status).toBe(201);
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe("calls queued past their caller's deadline", () => {
  it('leave the callee queue at the deadline', async () => {
    const started = Date.now();
    const res = await p.call('/caller', { method: 'POST' });
    expect(res.status).toBe(504);
    // the one call that runs holds the instance for 3 s; the four queued behind it are stale now
    await waitFor(
      'the stale calls to leave the queue',
      async () => ((await functionStatus(p, 'victim')).status.queued === 0 ? true : undefined),
      1_500,
    );
    expect(Date.now() - started).toBeLessThan(2_900);
  });
});
