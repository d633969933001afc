/**
 * Red team: a hand-written bridge floods the platform with CAST frames for one invocation (delayed 24 h,
 * so nothing runs and the queue only grows). Casts are accepted synchronously (one fsynced queue row
 * each) and leave nothing in flight, so the per-instance cap on calls in flight (concurrency × 4) never
 * sees them: one invocation may queue as many as the queue's byte cap allows, and the burst is written
 * while the platform serves nothing else. Asserted: one invocation cannot queue more casts than
 * functions.maxChainCasts, and the platform's event loop (this process) is never blocked for 1 s.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;

const N = 3000;
const CHAIN = 1000; // functions.maxChainCasts, the default
const FAN_N = 1000;
const TARGETS = 16;

/** N CASTs (delayed a day) in one burst; answers with how many were accepted and the FAIL codes. */
const flood = (to: string, n: number): string =>
  answeringBridge(`
      const N = ${n}, codes = {};
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
        burst.push(frame(15, k + 1, { invocationId: meta.invocationId, function: '${to}', delayMs: 86400000 }, Buffer.from('x')));
      sock.write(Buffer.concat(burst));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  expect((await p.deploy('caster', await bridgeFunction(dir, 'caster', flood('sink', N)))).status).toBe(201);
  expect((await p.deploy('fanner', await bridgeFunction(dir, 'fanner', flood('out', FAN_N)))).status).toBe(
    201,
  );
  await p.deployAll({ sink: 'cast-sink' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

/** Waits for `work` while watching the event loop (the platform runs in this process): the longest stall. */
async function stall<T>(work: Promise<T>): Promise<{ value: T; maxStallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const value = await work;
  h.disable();
  return { value, maxStallMs: Math.round(h.max / 1e6) };
}

interface FloodOut {
  accepted: number;
  codes: Record<string, number>;
  ms: number;
}

async function runFlood(fn: string): Promise<{ out: FloodOut; maxStallMs: number }> {
  const { value, maxStallMs } = await stall(p.call(`/${fn}`, { method: 'POST' }).then((r) => r.json()));
  return { out: value as FloodOut, maxStallMs };
}

describe('a CAST flood from one invocation', () => {
  it('queues at most functions.maxChainCasts casts, without blocking the platform for 1 s', async () => {
    const { out, maxStallMs } = await runFlood('caster');
    const queued = await p.api('/v1/invocations?function=sink&limit=10000');
    const rows = ((await queued.json()) as { invocations: unknown[] }).invocations.length;
    const seen = JSON.stringify({ ...out, rows, maxStallMs });
    expect(rows, seen).toBeLessThanOrEqual(CHAIN);
    expect(maxStallMs, seen).toBeLessThan(1000);
  }, 60_000);

  it('a workflow member casting 1000 times to an alias of 16 targets does not block the platform for 1 s', async () => {
    const targets = Array.from({ length: TARGETS }, (_, i) => `t${i}`);
    await p.deployAll(Object.fromEntries(targets.map((t) => [t, 'cast-sink'])));
    const applied = await p.api('/v1/workflows/fan', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ functions: { fanner: { out: targets } } }),
    });
    expect(applied.status).toBe(201);
    const { out, maxStallMs } = await runFlood('fanner');
    const seen = JSON.stringify({ ...out, rows: out.accepted * TARGETS, maxStallMs });
    expect(maxStallMs, seen).toBeLessThan(1000);
  }, 120_000);
});
