/**
 * Red team (withstood): a hand-written bridge answers its invocation, then sends a CAST and a STATE set
 * naming the invocation that ended, hoping for work outside its invocation's life (no deadline, no
 * caller to cancel it). Both must be refused with a FAIL, queue and write nothing, and leave the
 * instance serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;

const LATE = answeringBridge(`
      if (!globalThis.late) {
        globalThis.late = { answers: {} };
        const state = globalThis.late;
        let pending = Buffer.alloc(0);
        sock.on('data', (chunk) => {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0) + 4) {
            const len = pending.readUInt32BE(0), kind = pending.readUInt8(4), cid = pending.readUInt32BE(5), ml = pending.readUInt32BE(9);
            const m = ml === 0 ? {} : JSON.parse(pending.subarray(13, 13 + ml).toString());
            if (kind === 13) state.answers[cid] = 'REPLY ' + m.status;
            if (kind === 14) state.answers[cid] = m.code;
            pending = pending.subarray(4 + len);
          }
        });
        // the first invocation: answered at once, then the late frames
        sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from('first')));
        setTimeout(() => {
          sock.write(frame(15, 1, { invocationId: meta.invocationId, function: 'sink', delayMs: 3600000 }, Buffer.from('late')));
          sock.write(frame(16, 2, { invocationId: meta.invocationId, op: 'set', key: 'late', contentType: 'application/json' }, Buffer.from('1')));
        }, 300);
      } else {
        // later invocations: what the late frames got
        sock.write(frame(5, id, { status: 200, headers: [] }, Buffer.from(JSON.stringify(globalThis.late.answers))));
      }
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform();
  const fn = await bridgeFunction(dir, 'late', LATE, { scaling: { maxInstances: 1 } });
  expect((await p.deploy('late', fn)).status).toBe(201);
  await p.deployAll({ sink: 'cast-sink' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('CAST and STATE for an invocation that ended', () => {
  it('are refused with FAIL, queue and store nothing, and the instance keeps serving', async () => {
    const first = await p.call('/late', { method: 'POST' });
    expect(await first.text()).toBe('first');
    const answers = await waitFor('both late frames to be answered', async () => {
      const res = await p.call('/late', { method: 'POST' });
      expect(res.status).toBe(200);
      const got = (await res.json()) as Record<string, string>;
      return Object.keys(got).length === 2 ? got : undefined;
    });
    expect(Object.values(answers).every((a) => a.startsWith('SKIFF_E_'))).toBe(true);
    const rows = (await (await p.api('/v1/invocations?function=sink')).json()) as { invocations: unknown[] };
    expect(rows.invocations).toEqual([]);
    const state = (await (await p.api('/v1/functions/late/state')).json()) as { usage: { keys: number } };
    expect(state.usage.keys).toBe(0);
  });
});
