/**
 * A hostile bridge that never reads its protocol socket but answers blindly: it forges RESULT frames
 * (and PONGs) for wire ids it guesses (they count up from 1), so its calls "succeed" while every
 * request body the platform writes to it stays queued in the platform's memory. The platform must end
 * such an instance (it answered frames it cannot have read) instead of buffering without bound.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeFunction, rawBridge } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

// A custom runtime whose bridge writes HELLO and READY, then RESULTs (and PONGs) for ids 1..4000
// every 20 ms, and never reads fd 3.
const BRIDGE = rawBridge(`
const fs = require('node:fs');
function put(buf) { try { fs.writeSync(3, buf); } catch {} }
put(frame(1, 0, { protocol: 1, runtime: 'hostile' }));
setTimeout(() => put(frame(3, 0, {})), 300);
const blind = [];
for (let id = 1; id <= 4000; id++) blind.push(frame(5, id, { status: 200, headers: [] }), frame(11, id, {}));
const all = Buffer.concat(blind);
setTimeout(() => setInterval(() => put(all), 20), 400);
`);

function forceGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('a bridge that answers frames it never read', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = await bridgeFunction(dir, 'fn', BRIDGE, { timeoutMs: 2000 });
    platform = await startPlatform();
    const res = await platform.deploy('blind', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('is ended, and the bodies it never read do not pile up in the platform', async () => {
    const gc = forceGc();
    // 48 MiB in all, in 1 MiB calls: a bridge can forge answers for what is in the one write under way
    // (a body per call in flight), so large bodies would measure that allowance, not the pile-up
    const body = Buffer.alloc(1024 * 1024, 0x61);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const statuses = new Map<string, number>();
    for (let i = 0; i < 48; i++) {
      const res = await platform.call('/blind', { method: 'POST', body });
      const text = await res.text();
      const key =
        res.status === 200
          ? '200'
          : `${res.status} ${(JSON.parse(text) as { error: { code: string } }).error.code}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    // 48 MiB were sent; the instance cannot have read more than its socket's kernel buffer of them
    expect(grown, `grew ${grown} bytes; statuses ${JSON.stringify([...statuses])}`).toBeLessThan(
      16 * 1024 * 1024,
    );
    // the callers whose request it never read got the protocol error, not a forged answer
    expect([...statuses.keys()], JSON.stringify([...statuses])).toContain('502 SKIFF_E_PROTOCOL');
    const logs = await platform.logs('blind');
    expect(logs.some((l) => l.message.includes('broke the runtime protocol'))).toBe(true);
  }, 120_000);
});
