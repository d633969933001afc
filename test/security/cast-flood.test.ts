/**
 * Red team: a hand-written bridge floods the platform with CAST frames for one invocation (delayed 24 h,
 * so nothing runs and the queue only grows). Casts are accepted synchronously (one fsynced queue row
 * each) and leave nothing in flight, so the per-instance cap on calls in flight (concurrency × 4) never
 * sees them: one invocation may queue as many as the queue's byte cap allows, and the burst is written
 * while the platform serves nothing else. Asserted: one invocation cannot queue more casts than
 * functions.maxChainCalls, and a bystander's request is answered promptly during the flood.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;

const N = 3000;
const CHAIN = 256; // functions.maxChainCalls, the default

/** N CASTs (delayed a day) in one burst; answers with how many were accepted and the FAIL codes. */
const FLOOD = answeringBridge(`
      const N = ${N}, codes = {};
      let accepted = 0, answered = false, done = 0;
      const started = Date.now();
      const answer = () => {
        if (answered) return;
        answered = true;
        sock.off('data', onAnswer);
        const out = { accepted, codes, ms: Date.now() - started };
        sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from(JSON.stringify(out))));
      };
      setTimeout(answer, 20000);
      let pending = Buffer.alloc(0);
      const onAnswer = (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0) + 4) {
          const len = pending.readUInt32BE(0), kind = pending.readUInt8(4), ml = pending.readUInt32BE(9);
          if (kind === 13) { accepted++; done++; }
          if (kind === 14) {
            const m = JSON.parse(pending.subarray(13, 13 + ml).toString());
            codes[m.code] = (codes[m.code] || 0) + 1;
            done++;
          }
          pending = pending.subarray(4 + len);
        }
        if (done >= N) answer();
      };
      sock.on('data', onAnswer);
      const burst = [];
      for (let k = 0; k < N; k++)
        burst.push(frame(15, k + 1, { invocationId: meta.invocationId, function: 'sink', delayMs: 86400000 }, Buffer.from('x')));
      sock.write(Buffer.concat(burst));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const flood = await bridgeFunction(dir, 'caster', FLOOD, { timeoutMs: 30_000 });
  expect((await p.deploy('caster', flood)).status).toBe(201);
  await p.deployAll({ sink: 'cast-sink', bystander: 'echo-cjs' });
  const warm = await p.call('/bystander', { method: 'POST', body: 'warm' });
  expect(warm.status).toBe(200);
  await warm.arrayBuffer();
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a CAST flood from one invocation', () => {
  it('queues at most functions.maxChainCalls casts, and a bystander is answered within 1 s meanwhile', async () => {
    const flood = p.call('/caster', { method: 'POST' });
    // a bystander's requests while the flood is written
    const latencies: number[] = [];
    let floodDone = false;
    const flooded = flood.then(async (res) => {
      floodDone = true;
      return res;
    });
    while (!floodDone && latencies.length < 40) {
      const t0 = Date.now();
      const res = await p.call('/bystander', { method: 'POST', body: 'hi' });
      await res.arrayBuffer();
      latencies.push(Date.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const res = await flooded;
    expect(res.status).toBe(200);
    const out = (await res.json()) as { accepted: number; codes: Record<string, number>; ms: number };
    const queued = await p.api('/v1/invocations?function=sink&limit=10000');
    const rows = ((await queued.json()) as { invocations: unknown[] }).invocations.length;
    const worst = Math.max(0, ...latencies);
    expect(worst, `bystander latencies ${latencies.join(',')}`).toBeLessThan(1000);
    expect(rows, JSON.stringify({ ...out, worst })).toBeLessThanOrEqual(CHAIN);
    expect(out.accepted, JSON.stringify({ ...out, worst })).toBeLessThanOrEqual(CHAIN);
  }, 60_000);
});
