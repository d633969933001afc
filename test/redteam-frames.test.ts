/**
 * A hostile instance and a hostile caller against the INVOKE/RESULT framing: header values that try to
 * break out of the hand-written INVOKE meta, and a bridge that answers with frames naming ids no call
 * has, split at every byte, before the real RESULT.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from './helpers/hostile-bridge.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

// every byte its own write, a turn apart: junk ids first (unknown, 0xffffffff, the PING-free 0), then the answer
const ON_INVOKE = `
const out = Buffer.concat([
  frame(7, 0xffffffff, { stream: 'stdout', level: 'info' }, Buffer.from('log for no call')),
  frame(5, 0xffffffff, { status: 200, headers: [] }, Buffer.from('not yours')),
  frame(5, id + 1000, { status: 200, headers: [] }, Buffer.from('not yours either')),
  frame(6, 0x7fffffff, { code: 'FUNCTION_ERROR', message: 'x' }),
  frame(5, id, { status: 200, headers: [['content-type', 'application/json']] }, Buffer.from(JSON.stringify(meta))),
]);
// one byte stream for every call's frames (calls in flight at once must not interleave bytes)
const q = (globalThis.q ??= []);
q.push(out);
if (!globalThis.pumping) {
  globalThis.pumping = true;
  const next = () => {
    if (q.length === 0) { globalThis.pumping = false; return; }
    sock.write(q[0].subarray(0, 1));
    q[0] = q[0].subarray(1);
    if (q[0].length === 0) q.shift();
    setImmediate(next);
  };
  next();
}
`;

describe('the framing against hostile input', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-rt-frames-'));
    platform = await startPlatform();
    const res = await platform.deploy(
      'hostile',
      await bridgeFunction(dir, 'hostile', answeringBridge(ON_INVOKE)),
    );
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await platform.stop();
    await removeDir(platform.dataDir);
    await removeDir(dir);
  });

  it('gives each call its own answer, whatever else the instance sends, and forges no meta field', async () => {
    const forged = '","invocationId":"forged","deadline":1,"x":"\\\\\u2028\u2029é\u{1F600}';
    const answers = await Promise.all(
      [0, 1, 2, 3].map(async (n) => {
        const res = await platform.call(`/hostile/p"\\?q="${n}`, {
          headers: { 'x-evil': Buffer.from(forged).toString('latin1'), 'x-n': String(n) },
        });
        expect(res.status, await res.clone().text()).toBe(200);
        return (await res.json()) as { invocationId: string; url: string; headers: [string, string][] };
      }),
    );
    const ids = new Set(answers.map((a) => a.invocationId));
    expect(ids.size).toBe(4);
    expect(ids.has('forged')).toBe(false);
    answers.forEach((a, n) => {
      expect(a.headers).toContainEqual(['x-n', String(n)]);
      expect(a.headers.find(([k]) => k === 'x-evil')?.[1]).toBe(Buffer.from(forged).toString('latin1'));
    });
  }, 30_000);
});
