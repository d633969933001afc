/**
 * STATE frames on the platform's protocol connection, against a fake runtime (no process) and a fake
 * state (a map): the operation always lands on the calling invocation's function, REPLY and FAIL go
 * back under the bridge's call id with the store's codes, and the rules of docs/runtime-protocol.md
 * ("State") hold: the id space shared with CALL, the cap per instance, invocations in flight only.
 */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import type { FunctionState, StateContentType, StateEntry, StateKeyInfo } from '../../model/state.js';
import type { StateService } from '../state-service.js';
import { FrameKind } from './frames.js';
import { connect, invocation, settle } from '../../../test/helpers/fake-runtime-peer.js';

/** A state in a map, recording which function each operation named; `hold` keeps answers back. */
function fakeState(maxInFlight = 8, exists: (fn: string) => boolean = (fn) => fn === 'fn') {
  const entries = new Map<string, StateEntry>();
  const functions: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  const later = <T>(value: () => T): Promise<T> =>
    hold ? new Promise<T>((resolve) => held.push(() => resolve(value()))) : Promise.resolve(value());
  const state: FunctionState = {
    limits: { maxValueBytes: 8, maxBytesPerFunction: 100, maxKeysPerFunction: 10 },
    get: (fn, key) => {
      functions.push(fn);
      return later(() => entries.get(`${fn}/${key}`));
    },
    set: (fn, key, value: Buffer, contentType: StateContentType, condition = {}) => {
      functions.push(fn);
      if (key === '') throw new SkiffError('SKIFF_E_INVALID_STATE_KEY', 'empty');
      if (value.length > 8) return Promise.reject(new SkiffError('SKIFF_E_STATE_TOO_LARGE', 'too large'));
      const current = entries.get(`${fn}/${key}`)?.version ?? 0;
      if (condition.ifVersion !== undefined && condition.ifVersion !== current)
        return Promise.resolve({ ok: false, currentVersion: current });
      const version = current + 1;
      entries.set(`${fn}/${key}`, { key, value, contentType, version, updatedAt: 'now' });
      return later(() => ({ ok: true as const, version, created: current === 0 }));
    },
    delete: (fn, key) => {
      functions.push(fn);
      return Promise.resolve({ ok: true, deleted: entries.delete(`${fn}/${key}`) });
    },
    list: (fn, options = {}) => {
      functions.push(fn);
      const keys: StateKeyInfo[] = [...entries.values()]
        .filter((e) => e.key.startsWith(options.prefix ?? '') && e.key > (options.after ?? ''))
        .map((e) => ({ ...e, size: e.value.length }));
      return Promise.resolve({
        keys: keys.slice(0, 1),
        next: keys.length > 1 ? (keys[0]?.key ?? null) : null,
        usage: { keys: 0, bytes: 0 },
      });
    },
    deleteAll: () => Promise.resolve(0),
  };
  const service: StateService = { state, maxInFlight, exists };
  return {
    service,
    functions,
    hold: (on: boolean) => {
      hold = on;
      if (!on) for (const release of held.splice(0)) release();
    },
  };
}

async function running(state: StateService) {
  const { connection, peer, seen } = await connect({ ready: true, state });
  void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
  const invoke = await peer.next(FrameKind.INVOKE);
  return { connection, peer, seen, invoke };
}

const header = (frame: { meta: Record<string, unknown> }, name: string) =>
  (frame.meta['headers'] as [string, string][]).find(([key]) => key === name)?.[1];

describe('protocol connection: state', () => {
  it("sets and gets on the invocation's own function, whatever else the meta names", async () => {
    const { service, functions } = fakeState();
    const { peer, seen } = await running(service);
    // a `function` in the meta is not part of the frame: it is dropped, never used
    const set = {
      invocationId: 'inv-1',
      op: 'set',
      key: 'k',
      contentType: 'application/json',
      function: 'other',
    };
    peer.send(FrameKind.STATE, 3, set, Buffer.from('{"a":1}'));
    const written = await peer.next(FrameKind.REPLY);
    expect(written).toMatchObject({ id: 3, meta: { status: 200 } });
    expect(header(written, 'x-skiff-state-version')).toBe('1');
    expect(JSON.parse(written.body.toString())).toEqual({ version: 1, created: true });

    peer.send(FrameKind.STATE, 4, { invocationId: 'inv-1', op: 'get', key: 'k' });
    const read = await peer.next(FrameKind.REPLY);
    expect(read.meta['headers']).toEqual([
      ['content-type', 'application/json'],
      ['x-skiff-state-version', '1'],
    ]);
    expect(read.body.toString()).toBe('{"a":1}');
    expect(functions).toEqual(['fn', 'fn']);
    expect(seen.violations).toEqual([]);
  });

  it('answers with the store codes: not found, conflict, too large, bad key, bad content type', async () => {
    const { service } = fakeState();
    const { peer } = await running(service);
    const op = (id: number, meta: object, body?: Buffer) =>
      peer.send(FrameKind.STATE, id, { invocationId: 'inv-1', ...meta }, body);
    const failed = async (id: number) => {
      const frame = await peer.next(FrameKind.FAIL);
      expect(frame.id).toBe(id);
      return frame.meta as { code: string };
    };
    op(1, { op: 'get', key: 'none' });
    expect(await failed(1)).toMatchObject({ code: 'SKIFF_E_STATE_NOT_FOUND' });
    op(2, { op: 'set', key: 'k', ifVersion: 3 }, Buffer.from('x'));
    expect(await failed(2)).toMatchObject({ code: 'SKIFF_E_STATE_CONFLICT' });
    op(3, { op: 'set', key: 'k' }, Buffer.from('123456789'));
    expect(await failed(3)).toMatchObject({ code: 'SKIFF_E_STATE_TOO_LARGE' });
    op(4, { op: 'set', key: '' }, Buffer.from('x'));
    expect(await failed(4)).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    op(5, { op: 'delete' });
    expect(await failed(5)).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    op(6, { op: 'set', key: 'k', contentType: 'text/html' }, Buffer.from('x'));
    expect(await failed(6)).toMatchObject({ code: 'SKIFF_E_INVALID_REQUEST' });
    op(7, { op: 'list', prefix: 'p'.repeat(513) });
    expect(await failed(7)).toMatchObject({ code: 'SKIFF_E_INVALID_STATE_KEY' });
    // a media type's parameters do not matter
    op(9, { op: 'set', key: 'j', contentType: 'Application/JSON; charset=utf-8' }, Buffer.from('1'));
    expect((await peer.next(FrameKind.REPLY)).id).toBe(9);
    op(8, { op: 'delete', key: 'k' });
    const deleted = await peer.next(FrameKind.REPLY);
    expect(JSON.parse(deleted.body.toString())).toEqual({ deleted: false });
  });

  it('refuses a write for a function deleted while its invocation drains', async () => {
    const { service, functions } = fakeState(8, () => false);
    const { peer } = await running(service);
    peer.send(FrameKind.STATE, 1, { invocationId: 'inv-1', op: 'set', key: 'k' }, Buffer.from('x'));
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 1,
      meta: { code: 'SKIFF_E_FUNCTION_NOT_FOUND' },
    });
    expect(functions).toEqual([]);
  });

  it('lists a page after the key the meta names', async () => {
    const { service } = fakeState();
    const { peer } = await running(service);
    for (const [id, key] of [
      [1, 'a/1'],
      [2, 'a/2'],
      [3, 'b/1'],
    ] as const) {
      peer.send(FrameKind.STATE, id, { invocationId: 'inv-1', op: 'set', key }, Buffer.from('x'));
      await peer.next(FrameKind.REPLY);
    }
    peer.send(FrameKind.STATE, 4, { invocationId: 'inv-1', op: 'list', prefix: 'a/' });
    const first = JSON.parse((await peer.next(FrameKind.REPLY)).body.toString()) as {
      keys: { key: string }[];
      next: string;
    };
    expect(first).toMatchObject({ keys: [{ key: 'a/1', version: 1, size: 1 }], next: 'a/1' });
    peer.send(FrameKind.STATE, 5, { invocationId: 'inv-1', op: 'list', prefix: 'a/', key: first.next });
    const second = JSON.parse((await peer.next(FrameKind.REPLY)).body.toString()) as unknown;
    expect(second).toMatchObject({ keys: [{ key: 'a/2' }], next: null });
  });

  it('FAILs for an invocation not in flight, over the cap, or where no state is served', async () => {
    const fake = fakeState(2);
    const { peer, seen } = await running(fake.service);
    peer.send(FrameKind.STATE, 1, { invocationId: 'gone', op: 'get', key: 'k' });
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 1,
      meta: { code: 'SKIFF_E_INVOCATION_NOT_FOUND' },
    });
    fake.hold(true);
    for (const id of [2, 3, 4])
      peer.send(FrameKind.STATE, id, { invocationId: 'inv-1', op: 'get', key: 'k' });
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 4,
      meta: { code: 'SKIFF_E_TOO_MANY_REQUESTS' },
    });
    fake.hold(false);
    // the FAILs are queued as the held operations end, and leave at the end of that turn of the loop
    await settle();
    await settle();
    expect(peer.received.filter((f) => f.kind === FrameKind.FAIL).map((f) => f.id)).toEqual([2, 3]);
    expect(seen.violations).toEqual([]);

    const { connection, peer: other } = await connect({ ready: true });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await other.next(FrameKind.INVOKE);
    other.send(FrameKind.STATE, 1, { invocationId: 'inv-1', op: 'get', key: 'k' });
    expect(await other.next(FrameKind.FAIL)).toMatchObject({ meta: { code: 'SKIFF_E_INTERNAL' } });
  });

  it('ends the connection on a bad meta, an id in flight (CALL or STATE), or an INVOKE never read', async () => {
    const bad = await running(fakeState().service);
    bad.peer.send(FrameKind.STATE, 1, { invocationId: 'inv-1', op: 'drop', key: 'k' });
    await settle();
    expect(bad.seen.violations).toEqual([expect.stringContaining('STATE frame: meta.op')]);

    const twice = fakeState();
    const t = await running(twice.service);
    twice.hold(true);
    t.peer.send(FrameKind.STATE, 9, { invocationId: 'inv-1', op: 'get', key: 'k' });
    t.peer.send(FrameKind.CALL, 9, { invocationId: 'inv-1', function: 'x' });
    await settle();
    expect(t.seen.violations).toEqual(['a CALL with call id 9, which is already in flight']);

    const unread = await connect({ ready: true, state: fakeState().service });
    unread.peer.stopReading();
    // the first INVOKE cannot be written out whole, so the second waits behind it here, unread
    const big = 'x'.repeat(256 * 1024);
    void unread.connection.invoke(invocation('inv-big', big), 5_000).catch(() => undefined);
    await settle();
    void unread.connection.invoke(invocation('inv-2'), 5_000).catch(() => undefined);
    await settle();
    unread.peer.send(FrameKind.STATE, 1, { invocationId: 'inv-2', op: 'get', key: 'k' });
    await settle();
    expect(unread.seen.violations).toEqual(['a STATE for invocation inv-2, which it never read']);
  });

  it('sends no answer once the connection is lost', async () => {
    const fake = fakeState();
    const { connection, peer } = await running(fake.service);
    fake.hold(true);
    peer.send(FrameKind.STATE, 1, { invocationId: 'inv-1', op: 'set', key: 'k' }, Buffer.from('x'));
    await settle();
    connection.lost('gone', new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'crashed'));
    fake.hold(false);
    // the FAILs are queued as the held operations end, and leave at the end of that turn of the loop
    await settle();
    await settle();
    expect(peer.received.filter((f) => f.kind === FrameKind.REPLY || f.kind === FrameKind.FAIL)).toEqual([]);
  });
});
