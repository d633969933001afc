/**
 * Red team (issue 17): any HTTP client of a Baetyl function sets `baetyl-context`. A deeply nested
 * JSON value in it (a few KiB, within the gateway's header limit) must not fail the call: the bridge
 * treats a context it cannot take as an object as absent and builds the 1.0 context itself. Python's
 * json raised RecursionError, which escaped the flavor and failed the call as the function's error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  await p.deployAll({ 'ctx-py': 'baetyl-py', 'ctx-node': 'baetyl-node' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe.each(['ctx-py', 'ctx-node'])('%s', (name) => {
  it('a deeply nested baetyl-context is taken as absent: the call is answered with the built context', async () => {
    const res = await p.call(`/${name}`, {
      method: 'POST',
      headers: { 'baetyl-context': `${'['.repeat(4000)}${']'.repeat(4000)}`, 'mqtt-topic': 'x' },
      body: '{"a":1}',
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const context = (JSON.parse(text) as { context: Record<string, unknown> }).context;
    expect(context['functionName']).toBe(name);
  });
});
