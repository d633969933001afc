/**
 * Header names a function returns that are also keys of every JavaScript object (`constructor`,
 * `toString`, `__proto__`): the gateway gathers repeated headers by name, and must not mistake an
 * inherited property for a header it already has (which sent `constructor: function Object() {...}`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

const HEADERS = [
  ['constructor', 'c'],
  ['toString', 't'],
  ['__proto__', 'p'],
  ['x-same', '1'],
  ['x-same', '2'],
];

// HELLO, READY after INIT, and a RESULT with HEADERS for every INVOKE.
const BRIDGE = answeringBridge(`
      sock.write(frame(5, id, { status: 200, headers: ${JSON.stringify(HEADERS)} }));
`);

describe('result headers named like Object.prototype keys', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = await bridgeFunction(dir, 'fn', BRIDGE);
    platform = await startPlatform();
    const res = await platform.deploy('protokeys', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('are sent as the function gave them', async () => {
    const res = await platform.call('/protokeys');
    expect(res.status).toBe(200);
    expect(res.headers.get('constructor')).toBe('c');
    expect(res.headers.get('tostring')).toBe('t');
    expect(res.headers.get('__proto__')).toBe('p');
    expect(res.headers.get('x-same')).toBe('1, 2');
  }, 30_000);
});
