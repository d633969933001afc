/**
 * A hostile bridge against `ctx.state` (STATE frames, docs/runtime-protocol.md "State"): a flood of
 * writes is capped per instance (the rest FAIL with SKIFF_E_TOO_MANY_REQUESTS, every frame is
 * answered), a frame naming another function in its meta writes only to its own function's state,
 * and a key the store refuses is a FAIL that leaves the instance running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;
const N = 2000;

/** N STATE sets (1 KiB each) naming `victim` in the meta; answers with the REPLY count and FAIL codes. */
const FLOOD = answeringBridge(`
      const N = ${N}, codes = {};
      let replies = 0, answered = false, seen = 0;
      const answer = () => {
        if (answered) return;
        answered = true;
        sock.off('data', onAnswer);
        const out = Buffer.from(JSON.stringify({ replies, codes }));
        sock.write(frame(5, id, { status: 200, headers: [] }, out));
      };
      setTimeout(answer, 5000);
      let pending = Buffer.alloc(0);
      const onAnswer = (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0) + 4) {
          const len = pending.readUInt32BE(0), kind = pending.readUInt8(4), ml = pending.readUInt32BE(9);
          if (kind === 13) { replies++; seen++; }
          if (kind === 14) {
            const m = JSON.parse(pending.subarray(13, 13 + ml).toString());
            codes[m.code] = (codes[m.code] || 0) + 1;
            seen++;
          }
          pending = pending.subarray(4 + len);
        }
        if (seen >= N + 1) answer();
      };
      sock.on('data', onAnswer);
      const value = Buffer.alloc(1024, 120);
      const op = { invocationId: meta.invocationId, op: 'set', function: 'victim', contentType: 'application/octet-stream' };
      for (let k = 0; k < N; k++) sock.write(frame(16, k + 1, { ...op, key: 'k' + k }, value));
      // a key no store takes: a FAIL, not the end of the instance
      sock.write(frame(16, N + 1, { ...op, key: 'x'.repeat(100000) }, value));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const flood = await bridgeFunction(dir, 'flood', FLOOD, {
    timeoutMs: 10_000,
    scaling: { maxInstances: 1, concurrency: 1 },
  });
  expect((await p.deploy('flood', flood)).status).toBe(201);
  await p.deployAll({ victim: 'echo-cjs' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('a STATE flood from a hostile bridge', () => {
  it("is capped per instance, answers every frame, and writes only the bridge's own state", async () => {
    const res = await p.call('/flood', { method: 'POST' });
    expect(res.status).toBe(200);
    const { replies, codes } = (await res.json()) as { replies: number; codes: Record<string, number> };
    // frames arrive in chunks of many: beyond concurrency × 16 in one chunk they are refused
    expect(codes['SKIFF_E_TOO_MANY_REQUESTS']).toBeGreaterThan(0);
    expect(codes['SKIFF_E_INVALID_STATE_KEY'] ?? 0).toBeLessThanOrEqual(1);
    expect(
      Object.keys(codes).every((c) => c === 'SKIFF_E_TOO_MANY_REQUESTS' || c === 'SKIFF_E_INVALID_STATE_KEY'),
    ).toBe(true);
    const answered = replies + Object.values(codes).reduce((a, b) => a + b, 0);
    expect(answered).toBe(N + 1);
    // what was taken is in the flooding function's own state, none in the one its meta named
    const own = (await (await p.api('/v1/functions/flood/state?limit=1')).json()) as {
      usage: { keys: number };
    };
    expect(own.usage.keys).toBe(replies);
    const victim = (await (await p.api('/v1/functions/victim/state')).json()) as { usage: { keys: number } };
    expect(victim.usage.keys).toBe(0);
    // the instance was not ended for a protocol violation
    const logs = await p.logs('flood');
    expect(logs.filter((l) => l.message.includes('runtime protocol'))).toEqual([]);
  });
});
