import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import type { Invocation, Result } from '../model/invocation.js';
import { FunctionCalls } from './function-calls.js';

const OK: Result = { status: 200, headers: [], body: Buffer.from('ok') };

function parent(fields: Partial<Invocation> = {}): Invocation {
  return {
    id: 'root-1',
    function: 'caller',
    trigger: 'http',
    method: 'GET',
    path: '/',
    query: '',
    headers: [],
    body: Buffer.alloc(0),
    deadline: 0,
    host: 'example.test',
    ...fields,
  };
}

const request = {
  function: 'callee',
  method: 'PUT',
  path: '/a/b?c=1',
  headers: [['x', 'y']] as [string, string][],
  body: Buffer.from('b'),
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

/** A callee whose skiff.json has no access.callers: every function may call it. */
const anyCaller = (): { callers: null } => ({ callers: null });

describe('FunctionCalls', () => {
  it('makes a `call` invocation with the chain fields and the caller deadline', async () => {
    const seen: Invocation[] = [];
    const calls = new FunctionCalls({
      resolve: anyCaller,
      maxDepth: 8,
      maxChainCalls: 256,
      invoke: (inv) => (seen.push(inv), Promise.resolve(OK)),
    });
    const deadline = Date.now() + 1_000;
    await expect(calls.call({ invocation: parent(), deadline }, request)).resolves.toBe(OK);
    expect(seen[0]).toMatchObject({
      function: 'callee',
      trigger: 'call',
      method: 'PUT',
      path: '/a/b',
      query: 'c=1',
      headers: [['x', 'y']],
      deadline,
      caller: 'caller',
      parentId: 'root-1',
      rootId: 'root-1',
      depth: 1,
    });
    const child = seen[0] as Invocation;
    await calls.call({ invocation: child, deadline }, { ...request, path: '/' });
    expect(seen[1]).toMatchObject({ parentId: child.id, rootId: 'root-1', depth: 2, path: '/', query: '' });
  });

  it('refuses a call deeper than maxDepth with SKIFF_E_CALL_DEPTH (508)', async () => {
    const invoke = vi.fn(() => Promise.resolve(OK));
    const calls = new FunctionCalls({ resolve: anyCaller, maxDepth: 3, maxChainCalls: 256, invoke });
    const deadline = Date.now() + 1_000;
    await expect(calls.call({ invocation: parent({ depth: 2 }), deadline }, request)).resolves.toBe(OK);
    const refused = calls.call({ invocation: parent({ depth: 3 }), deadline }, request);
    await expect(refused).rejects.toMatchObject({ code: 'SKIFF_E_CALL_DEPTH', status: 508 });
    expect(invoke).toHaveBeenCalledTimes(1);
  });

  it("fails with SKIFF_E_TIMEOUT when the caller's deadline passes first, or has passed", async () => {
    const calls = new FunctionCalls({
      resolve: anyCaller,
      maxDepth: 8,
      maxChainCalls: 256,
      invoke: () => new Promise<Result>(() => undefined),
    });
    const waiting = calls.call({ invocation: parent(), deadline: Date.now() + 500 }, request);
    const outcome = expect(waiting).rejects.toMatchObject({ code: 'SKIFF_E_TIMEOUT' });
    await vi.advanceTimersByTimeAsync(500);
    await outcome;
    await expect(calls.call({ invocation: parent(), deadline: Date.now() }, request)).rejects.toMatchObject({
      code: 'SKIFF_E_TIMEOUT',
    });
  });

  it("passes the router's refusal on", async () => {
    const calls = new FunctionCalls({
      resolve: anyCaller,
      maxDepth: 8,
      maxChainCalls: 256,
      invoke: () => {
        throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', 'no function named "callee"');
      },
    });
    await expect(
      calls.call({ invocation: parent(), deadline: Date.now() + 100 }, request),
    ).rejects.toMatchObject({
      code: 'SKIFF_E_FUNCTION_NOT_FOUND',
    });
  });

  it("turns the callee's own failure into a response with its status, not a refusal", async () => {
    const calls = new FunctionCalls({
      resolve: anyCaller,
      maxDepth: 8,
      maxChainCalls: 256,
      invoke: () => Promise.reject(new SkiffError('SKIFF_E_FUNCTION_ERROR', 'the function threw an error')),
    });
    const result = await calls.call({ invocation: parent(), deadline: Date.now() + 100 }, request);
    expect(result.status).toBe(500);
    expect(result.headers).toContainEqual(['x-skiff-error-code', 'SKIFF_E_FUNCTION_ERROR']);
    expect(JSON.parse(result.body.toString())).toEqual({
      error: { code: 'SKIFF_E_FUNCTION_ERROR', message: 'the function threw an error' },
    });
  });

  it('refuses a caller the callee does not list in access.callers, before anything runs', async () => {
    const invoke = vi.fn(() => Promise.resolve(OK));
    const calls = new FunctionCalls({
      resolve: () => ({ callers: ['friend'] }),
      maxDepth: 8,
      maxChainCalls: 256,
      invoke,
    });
    const deadline = Date.now() + 1_000;
    await expect(calls.call({ invocation: parent(), deadline }, request)).rejects.toMatchObject({
      code: 'SKIFF_E_FORBIDDEN',
      message: expect.stringMatching(/does not accept calls from .*access\.callers lists friend/) as string,
    });
    expect(invoke).not.toHaveBeenCalled();
    const allowed = new FunctionCalls({
      resolve: () => ({ callers: [parent().function] }),
      maxDepth: 8,
      maxChainCalls: 256,
      invoke,
    });
    await expect(allowed.call({ invocation: parent(), deadline }, request)).resolves.toBe(OK);
  });

  it('bounds the calls in flight of one chain, whatever depth its bridges report', async () => {
    const waiting: (() => void)[] = [];
    const invoke = vi.fn(
      () =>
        new Promise<Result>((resolve) => {
          waiting.push(() => resolve(OK));
        }),
    );
    const calls = new FunctionCalls({ resolve: anyCaller, maxDepth: 8, maxChainCalls: 3, invoke });
    const deadline = Date.now() + 1_000;
    // a hostile bridge names the root as the caller every time: depth stays 1, the budget still holds
    const running = [1, 2, 3].map(() => calls.call({ invocation: parent(), deadline }, request));
    await expect(calls.call({ invocation: parent(), deadline }, request)).rejects.toMatchObject({
      code: 'SKIFF_E_TOO_MANY_REQUESTS',
      message: expect.stringMatching(/maxChainCalls/) as string,
    });
    // another chain is not affected
    const other = calls.call({ invocation: parent({ id: 'root-2' }), deadline }, request);
    expect(invoke).toHaveBeenCalledTimes(4);
    for (const done of waiting.splice(0)) done();
    await Promise.all([...running, other]);
    expect(calls.inFlight).toBe(0);
    const again = calls.call({ invocation: parent(), deadline }, request);
    waiting.splice(0).forEach((done) => done());
    await expect(again).resolves.toBe(OK);
  });

  it('refuses a call whose headers no HTTP server would accept (over 15 KiB)', async () => {
    const invoke = vi.fn(() => Promise.resolve(OK));
    const calls = new FunctionCalls({ resolve: anyCaller, maxDepth: 8, maxChainCalls: 256, invoke });
    const deadline = Date.now() + 1_000;
    const headers: [string, string][] = Array.from({ length: 16 }, (_, i) => [`x-h${i}`, 'v'.repeat(1024)]);
    await expect(
      calls.call({ invocation: parent(), deadline }, { ...request, headers }),
    ).rejects.toMatchObject({
      code: 'SKIFF_E_INVALID_REQUEST',
      message: expect.stringMatching(/15360/) as string,
    });
    expect(invoke).not.toHaveBeenCalled();
  });

  it("hands the caller's signal to the callee invocation", async () => {
    const seen: Invocation[] = [];
    const calls = new FunctionCalls({
      resolve: anyCaller,
      maxDepth: 8,
      maxChainCalls: 256,
      invoke: (inv) => (seen.push(inv), Promise.resolve(OK)),
    });
    const abort = new AbortController();
    await calls.call({ invocation: parent(), deadline: Date.now() + 1_000 }, request, abort.signal);
    expect(seen[0]?.signal).toBe(abort.signal);
  });
});
