/**
 * `ctx.call` between functions on a real platform (docs/composition.md, "Calls"): a chain across the
 * Node and Python bridges, the callee's trigger and caller, the depth limit and a cycle, the caller's
 * deadline carried to the callee, and refusals the function can catch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

describe('ctx.call', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform({ config: { functions: { maxCallDepth: 4 } } });
    await p.deployAll({
      'call-node': 'call-node',
      'call-py': 'call-py',
      'call-py-async': 'call-py-async',
      'call-deadline': 'call-deadline',
      sleeper: 'sleepy',
    });
  });

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('runs a chain Node → Python → Node, the body transformed at each step', async () => {
    const res = await p.call('/call-node/chain', { method: 'POST', body: 'start' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      function: 'call-node',
      trigger: 'http',
      caller: null,
      method: 'POST',
      status: 200,
      next: {
        function: 'call-py',
        trigger: 'call',
        caller: 'call-node',
        hop: 'node',
        status: 200,
        contentType: 'application/json',
        next: {
          function: 'call-node',
          trigger: 'call',
          caller: 'call-py',
          method: 'POST',
          body: 'start>node>py>end',
          hop: 'py',
          query: '?from=py',
        },
      },
    });
  });

  it('works from an async Python handler (await ctx.call)', async () => {
    const res = await p.call('/call-node/chain?next=call-py-async', { method: 'POST', body: 'a' });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { next: unknown };
    expect(out.next).toEqual({
      trigger: 'call',
      caller: 'call-node',
      status: 200,
      next: expect.objectContaining({ body: 'a>node>pyasync>end', caller: 'call-py-async', hop: 'pyasync' }),
    });
  });

  it('a callee error status is a response; an unknown function is an error the caller catches', async () => {
    expect(await (await p.call('/call-node/fails')).json()).toEqual({
      boom: 500,
      thrown: 500,
      code: 'SKIFF_E_FUNCTION_ERROR',
      body: { error: { code: 'SKIFF_E_FUNCTION_ERROR', message: expect.any(String) } },
    });
    expect(await (await p.call('/call-node/missing')).json()).toMatchObject({
      name: 'CallError',
      code: 'SKIFF_E_FUNCTION_NOT_FOUND',
    });
    expect(await (await p.call('/call-py/missing')).json()).toEqual({
      name: 'CallError',
      code: 'SKIFF_E_FUNCTION_NOT_FOUND',
    });
    expect(await (await p.call('/call-py-async/missing')).json()).toEqual({
      code: 'SKIFF_E_FUNCTION_NOT_FOUND',
    });
  });

  it('a function calling itself ends at the depth limit with 508 SKIFF_E_CALL_DEPTH', async () => {
    const started = Date.now();
    const res = await p.call('/call-node/self', { method: 'POST', body: 'x' });
    expect(res.status).toBe(508);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('SKIFF_E_CALL_DEPTH');
    expect(body.message).toContain('5 calls deep');
    expect(Date.now() - started).toBeLessThan(10_000);
    // the refused call is in the logs of the invocation that made it
    const calls = (await p.logs('call-node')).filter((l) => l.message.includes('SKIFF_E_CALL_DEPTH'));
    expect(calls.length).toBeGreaterThanOrEqual(1);
  });

  it('a two-function cycle (Node ↔ Python) ends with the depth error', async () => {
    const res = await p.call('/call-node/ping', { method: 'POST', body: 'x' });
    expect(res.status).toBe(508);
    expect(await res.json()).toMatchObject({ code: 'SKIFF_E_CALL_DEPTH' });
  });

  it('an uncaught depth refusal travels up the chain: the client gets 508 SKIFF_E_CALL_DEPTH', async () => {
    for (const route of ['/call-node/self-raw', '/call-node/ping-raw']) {
      const res = await p.call(route, { method: 'POST', body: 'x' });
      expect(res.status, route).toBe(508);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('SKIFF_E_CALL_DEPTH');
      expect(body.error.message).toContain('functions.maxCallDepth (4)');
    }
    // any other uncaught refusal is the function's own error
    const missing = await p.call('/call-node/missing-raw');
    expect(missing.status).toBe(500);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_FUNCTION_ERROR');
  });

  it("the callee inherits the caller's deadline and is cancelled when it passes", async () => {
    const started = Date.now();
    const res = await p.call('/call-deadline?ms=5000');
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_TIMEOUT');
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2500);
    // the callee's invocation ended with its caller, not after its own 5 s: cancelled as its caller
    // timed out, or timed out itself at the same deadline (whichever the platform saw first)
    const line = await waitFor('the callee ended with its caller', async () =>
      (await p.logs('sleeper')).find((l) => /timed out|cancelled: its caller ended/.test(l.message)),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    const after = /timed out after (\d+) ms/.exec(line.message)?.[1];
    if (after !== undefined) expect(Number(after)).toBeLessThanOrEqual(1000);
  });

  it('a callee is cancelled when its caller returns without waiting for it', async () => {
    // a warm callee, so the call is running (not queued for a start) when its caller returns
    expect((await p.call('/sleeper')).status).toBe(200);
    const started = Date.now();
    const res = await p.call('/call-node/abandon');
    expect(res.status).toBe(200);
    const line = await waitFor('the abandoned callee is cancelled', async () =>
      (await p.logs('sleeper')).find((l) => l.message.includes('cancelled: its caller ended')),
    );
    // long before its own 5 s sleep would have ended
    expect(Date.now() - started).toBeLessThan(3000);
    expect(line.stream).toBe('platform');
    // the caller's instance lived through its call's cancellation
    expect((await p.call('/call-node/abandon')).status).toBe(200);
    const lines = await p.logs('call-node');
    expect(lines.filter((l) => /exited|crashed|Unhandled|unhandled/.test(l.message))).toEqual([]);
  });
});
