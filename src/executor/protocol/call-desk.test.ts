/**
 * CALL frames on the platform's protocol connection, against a fake runtime (no process): the host is
 * asked with the caller's invocation and deadline, REPLY and FAIL go back under the bridge's call id,
 * and the limits and protocol rules of docs/runtime-protocol.md ("Calls") hold.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import type { Result } from '../../model/invocation.js';
import type { CallerContext, CallRequest, CallService } from '../calls.js';
import { FrameKind } from './frames.js';
import { connect, invocation, settle } from '../../../test/helpers/fake-runtime-peer.js';

/** A host that records its calls and answers each with what the test hands it. */
function fakeService(maxInFlight = 2, maxBodyBytes = 100) {
  const calls: {
    caller: CallerContext;
    request: CallRequest;
    signal: AbortSignal | undefined;
    answer: (r: Result | SkiffError) => void;
  }[] = [];
  const service: CallService = {
    limits: { maxInFlight, maxBodyBytes },
    host: {
      call: (caller, request, signal) =>
        new Promise<Result>((resolve, reject) => {
          calls.push({
            caller,
            request,
            signal,
            answer: (r) => (r instanceof SkiffError ? reject(r) : resolve(r)),
          });
        }),
    },
  };
  return { service, calls };
}

const CALL = {
  invocationId: 'inv-1',
  function: 'other',
  method: 'post',
  path: '/x?y=1',
  headers: [['a', 'b']],
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('protocol connection: calls', () => {
  it('hands a CALL to the host with its caller, and sends the REPLY under the call id', async () => {
    const { service, calls } = fakeService();
    const { connection, peer } = await connect({ ready: true, calls: service });
    const running = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    // call ids are the bridge's own: one equal to a wire id in flight is no conflict
    peer.send(FrameKind.CALL, invoke.id, CALL, Buffer.from('req'));
    await settle();
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.caller.invocation.id).toBe('inv-1');
    expect(call?.caller.deadline).toBe(Date.now() + 5_000);
    expect(call?.request).toEqual({
      function: 'other',
      method: 'POST',
      path: '/x?y=1',
      headers: [['a', 'b']],
      body: Buffer.from('req'),
    });
    expect(connection.callsInFlight).toBe(1);
    call?.answer({ status: 500, headers: [['c', 'd']], body: Buffer.from('callee failed') });
    const reply = await peer.next(FrameKind.REPLY);
    expect(reply).toMatchObject({ id: invoke.id, meta: { status: 500, headers: [['c', 'd']] } });
    expect(reply.body.toString()).toBe('callee failed');
    expect(connection.callsInFlight).toBe(0);
    // the invocation itself is untouched
    peer.send(FrameKind.RESULT, invoke.id, { status: 200, headers: [] });
    await expect(running).resolves.toMatchObject({ status: 200 });
  });

  it("answers a platform refusal with FAIL and the error's code", async () => {
    const { service, calls } = fakeService();
    const { connection, peer, seen } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 7, CALL);
    await settle();
    calls[0]?.answer(new SkiffError('SKIFF_E_CALL_DEPTH', 'too deep'));
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 7,
      meta: { code: 'SKIFF_E_CALL_DEPTH', message: 'too deep' },
    });
    expect(seen.logs).toEqual([expect.stringContaining('call to "other" failed: SKIFF_E_CALL_DEPTH')]);
  });

  it('FAILs a call for an invocation not in flight, over the limit, or with a body too large', async () => {
    const { service, calls } = fakeService(2, 4);
    const { connection, peer, seen } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 1, { ...CALL, invocationId: 'gone' });
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 1,
      meta: { code: 'SKIFF_E_INVOCATION_NOT_FOUND' },
    });
    peer.send(FrameKind.CALL, 2, CALL, Buffer.from('12345'));
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 2,
      meta: { code: 'SKIFF_E_PAYLOAD_TOO_LARGE' },
    });
    peer.send(FrameKind.CALL, 3, CALL);
    peer.send(FrameKind.CALL, 4, CALL);
    peer.send(FrameKind.CALL, 5, CALL);
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 5,
      meta: { code: 'SKIFF_E_TOO_MANY_REQUESTS' },
    });
    expect(calls).toHaveLength(2);
    expect(seen.violations).toEqual([]);
  });

  it('FAILs every call where the platform serves none', async () => {
    const { connection, peer } = await connect({ ready: true });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 1, CALL);
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({ id: 1, meta: { code: 'SKIFF_E_INTERNAL' } });
  });

  it('ends the connection on a CALL with a bad meta or a call id already in flight', async () => {
    const bad = await connect({ ready: true, calls: fakeService().service });
    bad.peer.send(FrameKind.CALL, 1, { invocationId: 'inv-1', function: '' });
    await settle();
    expect(bad.seen.violations).toEqual([expect.stringContaining('CALL frame: meta.function')]);

    const { service } = fakeService();
    const twice = await connect({ ready: true, calls: service });
    void twice.connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await twice.peer.next(FrameKind.INVOKE);
    twice.peer.send(FrameKind.CALL, 9, CALL);
    twice.peer.send(FrameKind.CALL, 9, CALL);
    await settle();
    expect(twice.seen.violations).toEqual(['a CALL with call id 9, which is already in flight']);
  });

  it('sends no answer once the connection is lost', async () => {
    const { service, calls } = fakeService();
    const { connection, peer } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 1, CALL);
    await settle();
    connection.lost('gone', new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'crashed'));
    calls[0]?.answer({ status: 200, headers: [], body: Buffer.alloc(0) });
    await settle();
    expect(peer.received.filter((f) => f.kind === FrameKind.REPLY)).toEqual([]);
  });
});

describe('protocol connection: uncaught call failures', () => {
  async function failedWith(code: string, callFailure: string) {
    const { service, calls } = fakeService();
    const { connection, peer } = await connect({ ready: true, calls: service });
    const running = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 1, CALL);
    await settle();
    calls[0]?.answer(new SkiffError(code as never, 'refused'));
    await peer.next(FrameKind.FAIL);
    peer.send(FrameKind.ERROR, invoke.id, { code: 'FUNCTION_ERROR', message: 'CallError', callFailure });
    return running.then(
      () => undefined,
      (err: SkiffError) => err,
    );
  }

  it('fails the caller with SKIFF_E_CALL_DEPTH when its handler did not catch that FAIL', async () => {
    expect(await failedWith('SKIFF_E_CALL_DEPTH', 'SKIFF_E_CALL_DEPTH')).toMatchObject({
      code: 'SKIFF_E_CALL_DEPTH',
      message: 'refused',
    });
  });

  it('is an ordinary function error for other codes, or a code the platform never sent', async () => {
    expect(await failedWith('SKIFF_E_FUNCTION_NOT_FOUND', 'SKIFF_E_FUNCTION_NOT_FOUND')).toMatchObject({
      code: 'SKIFF_E_FUNCTION_ERROR',
    });
    expect(await failedWith('SKIFF_E_FUNCTION_NOT_FOUND', 'SKIFF_E_CALL_DEPTH')).toMatchObject({
      code: 'SKIFF_E_FUNCTION_ERROR',
    });
  });

  it('cancels the calls an invocation left running when it settles, and all of them when the connection ends', async () => {
    const { service, calls } = fakeService(4);
    const { connection, peer } = await connect({ ready: true, calls: service });
    const first = connection.invoke(invocation('inv-1'), 5_000);
    const one = await peer.next(FrameKind.INVOKE);
    const second = connection.invoke(invocation('inv-2'), 5_000);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 1, CALL, Buffer.alloc(0));
    peer.send(FrameKind.CALL, 2, { ...CALL, invocationId: 'inv-2' }, Buffer.alloc(0));
    await settle();
    expect(calls.map((c) => c.signal?.aborted)).toEqual([false, false]);
    // inv-1 answers without waiting for its call: the callee is cancelled, inv-2's call runs on
    peer.send(FrameKind.RESULT, one.id, { status: 200, headers: [] });
    await expect(first).resolves.toMatchObject({ status: 200 });
    expect(calls.map((c) => c.signal?.aborted)).toEqual([true, false]);
    expect(connection.callsInFlight).toBe(1);
    connection.lost('is gone', new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the instance is gone'));
    await expect(second).rejects.toMatchObject({ code: 'SKIFF_E_INSTANCE_CRASHED' });
    expect(calls[1]?.signal?.aborted).toBe(true);
  });
});
