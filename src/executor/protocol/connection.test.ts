/**
 * The platform's protocol connection against a fake peer (test/helpers/fake-runtime-peer.ts), over an
 * in-memory duplex pair: no process. Timeouts run on vitest's fake clock (setTimeout only; the streams
 * run as usual; timeouts are on the monotonic clock, faked too).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import type { Result } from '../../model/invocation.js';
import { FrameKind } from './frames.js';
import { INIT, connect, invocation, settle, track } from '../../../test/helpers/fake-runtime-peer.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('protocol connection: handshake', () => {
  it('waits for HELLO, sends INIT and is ready on READY', async () => {
    const { connection, peer } = await connect();
    const hello = connection.waitHello(1_000);
    peer.send(FrameKind.HELLO, 0, { protocol: 1, runtime: 'fake', runtimeVersion: '9' });
    await hello;
    expect(connection.hello).toMatchObject({ runtime: 'fake', runtimeVersion: '9' });
    expect(connection.accepting).toBe(false);
    const ready = connection.init(INIT, 1_000);
    const init = await peer.next(FrameKind.INIT);
    expect(init).toMatchObject({ id: 0, meta: INIT });
    peer.send(FrameKind.READY, 0);
    await ready;
    expect(connection.accepting).toBe(true);
  });

  it('fails the start on another protocol version, and on no READY in time', async () => {
    const first = await connect();
    const hello = first.connection.waitHello(1_000);
    first.peer.send(FrameKind.HELLO, 0, { protocol: 2, runtime: 'future' });
    await expect(hello).rejects.toMatchObject({
      code: 'SKIFF_E_INSTANCE_START_FAILED',
      message: 'the function instance runtime speaks protocol 2, the platform speaks 1',
    });
    const second = await connect();
    const again = second.connection.waitHello(1_000);
    second.peer.send(FrameKind.HELLO, 0, { protocol: 1, runtime: 'fake' });
    await again;
    const ready = second.connection.init(INIT, 500);
    const outcome = expect(ready).rejects.toMatchObject({
      code: 'SKIFF_E_START_TIMEOUT',
      message: 'the function instance did not become ready within 500 ms',
    });
    await vi.advanceTimersByTimeAsync(500);
    await outcome;
  });

  it('fails the start with the handler named when INIT is answered with an ERROR', async () => {
    const { connection, peer, seen } = await connect();
    connection.deployment = { handler: 'main.py' } as never;
    const hello = connection.waitHello(1_000);
    peer.send(FrameKind.HELLO, 0, { protocol: 1, runtime: 'fake' });
    await hello;
    const ready = connection.init(INIT, 1_000);
    peer.send(FrameKind.ERROR, 0, { code: 'INIT_ERROR', message: 'no module named main' });
    await expect(ready).rejects.toMatchObject({
      code: 'SKIFF_E_INSTANCE_START_FAILED',
      message: 'the function instance failed to load main.py: no module named main',
    });
    expect(seen.logs).toEqual(['stderr error failed to load main.py: no module named main']);
  });
});

describe('protocol connection: invocations', () => {
  it('sends INVOKE and resolves with the RESULT for its wire id', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    const call = connection.invoke(invocation('inv-1', 'hi'), 5_000);
    expect(connection.inFlight).toBe(1);
    const invoke = await peer.next(FrameKind.INVOKE);
    expect(invoke.meta).toMatchObject({
      invocationId: 'inv-1',
      method: 'POST',
      url: 'http://example.test/p?q=1',
      headers: [['x-a', 'b']],
      trigger: 'http',
    });
    expect(invoke.body.toString()).toBe('hi');
    peer.send(FrameKind.LOG, invoke.id, { stream: 'log', level: 'info' }, Buffer.from('a line'));
    peer.send(FrameKind.RESULT, invoke.id, { status: 201, headers: [['x-r', '1']] }, Buffer.from('ok'));
    const result = await call;
    expect(result.status).toBe(201);
    expect(result.headers).toEqual([['x-r', '1']]);
    expect(result.body.toString()).toBe('ok');
    expect(connection.inFlight).toBe(0);
    expect(seen.changed).toBe(1);
    expect(seen.logs).toEqual(['log info a line']);
  });

  it('turns ERROR frames into the caller errors, and keeps serving', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    const failing = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.ERROR, invoke.id, { code: 'FUNCTION_ERROR', message: 'boom', stack: 'at x' });
    await expect(failing).rejects.toMatchObject({
      code: 'SKIFF_E_FUNCTION_ERROR',
      details: { functionError: 'boom' },
    });
    expect(seen.logs).toEqual(['stderr error at x']);
    const bad = connection.invoke(invocation('inv-2'), 5_000);
    const second = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.ERROR, second.id, { code: 'BAD_RESPONSE', message: 'not JSON' });
    await expect(bad).rejects.toMatchObject({ code: 'SKIFF_E_BAD_RESPONSE' });
    expect(connection.accepting).toBe(true);
  });

  it('reports a FUNCTION_ERROR as out of memory when the owner says the OOM killer struck', async () => {
    const { connection, peer } = await connect({ ready: true, oom: true });
    const call = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.ERROR, invoke.id, { code: 'FUNCTION_ERROR', message: 'killed' });
    await expect(call).rejects.toMatchObject({ code: 'SKIFF_E_OUT_OF_MEMORY' });
  });

  it('refuses a response body over maxResponseBytes without ending the connection', async () => {
    const { connection, peer } = await connect({ ready: true, maxResponseBytes: 16 });
    const call = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.RESULT, invoke.id, { status: 200, headers: [] }, Buffer.alloc(17));
    await expect(call).rejects.toMatchObject({ code: 'SKIFF_E_BAD_RESPONSE' });
    expect(connection.violated).toBeUndefined();
  });
});

describe('protocol connection: broken peers', () => {
  it('closes on a frame failing its schema: SKIFF_E_PROTOCOL for what was in flight', async () => {
    const { connection, peer, seen, stream } = await connect({ ready: true });
    const call = track(connection.invoke(invocation('inv-1'), 5_000));
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.RESULT, invoke.id, { status: 'two hundred', headers: [] });
    await settle();
    expect(call.error?.code).toBe('SKIFF_E_PROTOCOL');
    expect(seen.violations).toHaveLength(1);
    expect(seen.violations[0]).toBe('RESULT frame: meta.status: Invalid input');
    expect(connection.accepting).toBe(false);
    expect(stream.destroyed).toBe(true);
    await expect(connection.invoke(invocation('inv-2'), 5_000)).rejects.toMatchObject({
      code: 'SKIFF_E_INSTANCE_CRASHED',
    });
  });

  it('times out each invocation at its own timeout, on one sweep; an answered one never', async () => {
    const { connection, peer } = await connect({ ready: true });
    const long = track(connection.invoke(invocation('inv-long'), 300));
    const short = track(connection.invoke(invocation('inv-short'), 100));
    const answered = track(connection.invoke(invocation('inv-answered'), 50));
    await peer.next(FrameKind.INVOKE);
    await peer.next(FrameKind.INVOKE);
    const third = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.RESULT, third.id, { status: 200, headers: [] });
    await settle();
    expect(answered.result?.status).toBe(200);
    await vi.advanceTimersByTimeAsync(99);
    expect(short.error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(short.error).toMatchObject({
      code: 'SKIFF_E_TIMEOUT',
      message: 'the function did not answer within 100 ms',
    });
    expect(long.error).toBeUndefined();
    expect(connection.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(long.error).toMatchObject({ message: 'the function did not answer within 300 ms' });
    expect(answered.error).toBeUndefined();
    expect(connection.inFlight).toBe(0);
  });

  it('on a timeout: SKIFF_E_TIMEOUT, CANCEL, then a PING; a PONG brings it back', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    const call = track(connection.invoke(invocation('inv-1'), 100));
    const invoke = await peer.next(FrameKind.INVOKE);
    await vi.advanceTimersByTimeAsync(100);
    expect(call.error?.code).toBe('SKIFF_E_TIMEOUT');
    expect(seen.timedOut).toBe(1);
    expect((await peer.next(FrameKind.CANCEL)).id).toBe(invoke.id);
    const ping = await peer.next(FrameKind.PING);
    expect(connection.accepting).toBe(false);
    const probe = connection.probing;
    peer.send(FrameKind.PONG, ping.id);
    await expect(probe).resolves.toBe(true);
    expect(connection.accepting).toBe(true);
    expect(seen.hung).toBe(0);
    // a late answer for the timed-out invocation is ignored
    peer.send(FrameKind.RESULT, invoke.id, { status: 200, headers: [] });
    await settle();
    expect(seen.violations).toEqual([]);
  });

  it('when its caller ends: SKIFF_E_CANCELLED and CANCEL, no probe; an aborted one is never sent', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    const abort = new AbortController();
    const call = track(connection.invoke({ ...invocation('inv-1'), signal: abort.signal }, 5_000));
    const invoke = await peer.next(FrameKind.INVOKE);
    abort.abort();
    await settle();
    expect(call.error?.code).toBe('SKIFF_E_CANCELLED');
    expect(seen.timedOut).toBe(0);
    expect((await peer.next(FrameKind.CANCEL)).id).toBe(invoke.id);
    // no liveness probe after a cancel (a busy callee would be killed as hung): it keeps accepting
    expect(connection.accepting).toBe(true);
    // a late answer is ignored, and the instance serves on
    peer.send(FrameKind.RESULT, invoke.id, { status: 200, headers: [] });
    await settle();
    expect(seen.violations).toEqual([]);
    await expect(
      connection.invoke({ ...invocation('inv-2'), signal: abort.signal }, 5_000),
    ).rejects.toMatchObject({ code: 'SKIFF_E_CANCELLED' });
  });

  it('reports a peer that does not answer the PING within the probe timeout as hung', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    track(connection.invoke(invocation('inv-1'), 100));
    await peer.next(FrameKind.INVOKE);
    await vi.advanceTimersByTimeAsync(100);
    await peer.next(FrameKind.PING);
    const probe = connection.probing;
    await vi.advanceTimersByTimeAsync(249);
    expect(seen.hung).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await expect(probe).resolves.toBe(false);
    expect(seen.hung).toBe(1);
  });

  it('fails everything in flight when the owner says the peer is gone', async () => {
    const { connection, peer } = await connect({ ready: true });
    const call = track(connection.invoke(invocation('inv-1'), 5_000));
    await peer.next(FrameKind.INVOKE);
    connection.lost('exited during start-up', new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'crashed'));
    await settle();
    expect(call.error?.code).toBe('SKIFF_E_INSTANCE_CRASHED');
    expect(connection.inFlight).toBe(0);
    expect(connection.accepting).toBe(false);
  });
});

describe('protocol connection: a peer that answers what it never read', () => {
  // 256 KiB: more than the in-memory pair buffers, so the INVOKE stays queued on the platform's side
  const BIG = 'x'.repeat(256 * 1024);

  it('ends the connection on a RESULT for an INVOKE still queued here', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    peer.stopReading();
    // the first INVOKE is on its way (the peer may read it) but cannot be written out whole...
    const first = track(connection.invoke(invocation('inv-1', BIG), 5_000));
    await settle();
    // ...so the second waits behind it, here: the peer cannot have read it
    const second = track(connection.invoke(invocation('inv-2'), 5_000));
    await settle();
    peer.send(FrameKind.RESULT, 2, { status: 200, headers: [] }, Buffer.from('forged'));
    await settle();
    expect(outcomeCode(second)).toBe('SKIFF_E_PROTOCOL');
    expect(outcomeCode(first)).toBe('SKIFF_E_PROTOCOL');
    expect(seen.violations).toEqual([expect.stringContaining('never read')]);
    expect(connection.accepting).toBe(false);
  });

  it('ends the connection on a PONG for a PING still queued here', async () => {
    const { connection, peer, seen } = await connect({ ready: true });
    peer.stopReading();
    const call = track(connection.invoke(invocation('inv-1', BIG), 100));
    await settle();
    vi.advanceTimersByTime(100);
    await settle();
    expect(outcomeCode(call)).toBe('SKIFF_E_TIMEOUT');
    // the PING (wire id 2) is queued behind the INVOKE the peer never read
    peer.send(FrameKind.PONG, 2);
    await settle();
    expect(seen.violations).toEqual([expect.stringContaining('PONG')]);
    expect(seen.hung).toBe(0);
  });
});

function outcomeCode(outcome: { result?: Result; error?: SkiffError }): string | undefined {
  return outcome.error?.code;
}
