/**
 * A bridge that floods the platform with CALL frames for one invocation, then exits with its calls in
 * flight: the per-instance cap refuses all but concurrency × 4 at once, the platform keeps serving, and
 * the calls that ran end by the caller's deadline (nothing stays queued or in flight for them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionStatus } from '../helpers/function-status.js';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;

const SLOW = answeringBridge(`
      setTimeout(() => sock.write(frame(5, id, { status: 200, headers: [] })), 3000);
`);

/** 5000 CALLs (bodies of 1 KiB); answers with the FAIL codes it got by then, then exits. */
const FLOOD = answeringBridge(`
      const N = 5000, codes = {};
      let failed = 0, answered = false;
      // the answer goes out when every call was refused, or 2 s in (the calls that were taken wait
      // in the victim's queue until the caller's deadline of 3 s)
      const answer = () => {
        if (answered) return;
        answered = true;
        sock.off('data', onFail);
        sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from(JSON.stringify(codes))), () => process.exit(0));
      };
      setTimeout(answer, 2000);
      let pending = Buffer.alloc(0);
      const onFail = (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0) + 4) {
          const len = pending.readUInt32BE(0), kind = pending.readUInt8(4), ml = pending.readUInt32BE(9);
          if (kind === 14) {
            const m = JSON.parse(pending.subarray(13, 13 + ml).toString());
            codes[m.code] = (codes[m.code] || 0) + 1;
            failed++;
          }
          pending = pending.subarray(4 + len);
        }
        if (failed >= N) answer();
      };
      sock.on('data', onFail);
      const big = Buffer.alloc(1024, 120);
      for (let k = 0; k < N; k++)
        sock.write(frame(12, k + 1, { invocationId: meta.invocationId, function: 'victim' }, big));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const victim = await bridgeFunction(dir, 'victim', SLOW, {
    timeoutMs: 10_000,
    scaling: { maxInstances: 1, concurrency: 1, maxQueue: 10, maxQueueWaitMs: 60_000 },
  });
  expect((await p.deploy('victim', victim)).status).toBe(201);
  const flood = await bridgeFunction(dir, 'flood', FLOOD, { timeoutMs: 3_000 });
  expect((await p.deploy('flood', flood)).status).toBe(201);
  await p.deployAll({ bystander: 'echo-cjs' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a CALL flood', () => {
  it('is capped per instance, and what ran ends by the deadline after the bridge exits', async () => {
    const res = await p.call('/flood', { method: 'POST' });
    expect(res.status).toBe(200);
    // the flood frames may be split across reads, so the cap may see a few answered first; most are refused
    const codes = (await res.json()) as Record<string, number>;
    expect(codes['SKIFF_E_TOO_MANY_REQUESTS']).toBeGreaterThan(4_900);
    expect(
      Object.keys(codes).every((c) => ['SKIFF_E_TOO_MANY_REQUESTS', 'SKIFF_E_TIMEOUT'].includes(c)),
    ).toBe(true);
    expect((await p.call('/bystander', { method: 'POST', body: 'hi' })).status).toBe(200);
    await waitFor(
      'the calls of the exited bridge to end',
      async () => {
        const s = (await functionStatus(p, 'victim')).status;
        return s.queued === 0 && s.inFlight === 0 ? true : undefined;
      },
      6_000,
    );
  });
});
