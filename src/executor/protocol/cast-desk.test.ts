/**
 * CAST frames on the platform's protocol connection, against a fake runtime (no process): the cast
 * host is asked with the caster's invocation, the REPLY carries the accepted ids (status 202), a refusal
 * is a FAIL, and a CAST shares the call id space and limits of CALL (docs/runtime-protocol.md, "Casts").
 */
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import type { CallerContext, CallService, CastRequest } from '../calls.js';
import { FrameKind } from './frames.js';
import { connect, invocation, settle } from '../../../test/helpers/fake-runtime-peer.js';

/** A service whose cast host records casts and answers with `answer`; its CALLs never end. */
function castService(answer: (request: CastRequest) => string[] | SkiffError, maxInFlight = 4) {
  const casts: { caster: CallerContext; request: CastRequest }[] = [];
  const service: CallService = {
    limits: { maxInFlight, maxBodyBytes: 100 },
    host: { call: () => new Promise(() => undefined) },
    casts: {
      cast: (caster, request) => {
        casts.push({ caster, request });
        const out = answer(request);
        return out instanceof SkiffError ? Promise.reject(out) : Promise.resolve(out);
      },
    },
  };
  return { service, casts };
}

const CAST = { invocationId: 'inv-1', function: 'audit', delayMs: 250, headers: [['a', 'b']] };

describe('protocol connection: casts', () => {
  it('hands a CAST to the cast host and answers 202 with the ids', async () => {
    const { service, casts } = castService(() => ['id-1', 'id-2']);
    const { connection, peer } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CAST, 7, CAST, Buffer.from('payload'));
    const reply = await peer.next(FrameKind.REPLY);
    expect(reply).toMatchObject({
      id: 7,
      meta: { status: 202, headers: [['content-type', 'application/json']] },
    });
    expect(JSON.parse(reply.body.toString())).toEqual({ id: 'id-1', ids: ['id-1', 'id-2'] });
    expect(casts[0]?.caster.invocation.id).toBe('inv-1');
    expect(casts[0]?.request).toEqual({
      function: 'audit',
      method: 'POST',
      path: '/',
      headers: [['a', 'b']],
      body: Buffer.from('payload'),
      delayMs: 250,
      seq: 0,
    });
  });

  it('answers `id: null` when the name maps to no target, and FAIL with the code of a refusal', async () => {
    const { service } = castService((r) =>
      r.function === 'nowhere' ? [] : new SkiffError('SKIFF_E_FORBIDDEN', 'not you'),
    );
    const { connection, peer } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CAST, 1, { ...CAST, function: 'nowhere' });
    expect(JSON.parse((await peer.next(FrameKind.REPLY)).body.toString())).toEqual({ id: null, ids: [] });
    peer.send(FrameKind.CAST, 2, CAST);
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({
      id: 2,
      meta: { code: 'SKIFF_E_FORBIDDEN', message: 'not you' },
    });
  });

  it('fails a CAST where the platform serves no casts', async () => {
    const { service } = castService(() => []);
    delete service.casts;
    const { connection, peer } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CAST, 1, CAST);
    expect(await peer.next(FrameKind.FAIL)).toMatchObject({ id: 1, meta: { code: 'SKIFF_E_INTERNAL' } });
  });

  it('shares the call id space with CALL: a CAST under the id of a CALL in flight is a violation', async () => {
    const { service } = castService(() => ['id-1']);
    const { connection, peer, seen } = await connect({ ready: true, calls: service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CALL, 3, { invocationId: 'inv-1', function: 'other' });
    peer.send(FrameKind.CAST, 3, CAST);
    await settle();
    expect(seen.violations).toEqual(['a CAST with call id 3, which is already in flight']);
  });

  it('ends the connection on a CAST whose meta breaks its schema', async () => {
    const { connection, peer, seen } = await connect({ ready: true, calls: castService(() => []).service });
    void connection.invoke(invocation('inv-1'), 5_000).catch(() => undefined);
    await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CAST, 1, { ...CAST, delayMs: 'soon' });
    await settle();
    expect(seen.violations).toEqual([expect.stringContaining('CAST frame: meta.delayMs')]);
  });

  it('answers a cast still being written when its invocation ends with its ids, not a cancellation', async () => {
    let accept: (ids: string[]) => void = () => undefined;
    const service: CallService = {
      limits: { maxInFlight: 4, maxBodyBytes: 100 },
      host: { call: () => new Promise(() => undefined) },
      casts: { cast: () => new Promise<string[]>((resolve) => (accept = resolve)) },
    };
    const { connection, peer } = await connect({ ready: true, calls: service });
    const running = connection.invoke(invocation('inv-1'), 5_000);
    const invoke = await peer.next(FrameKind.INVOKE);
    peer.send(FrameKind.CAST, 7, CAST, Buffer.from('payload'));
    await settle();
    peer.send(FrameKind.RESULT, invoke.id, { status: 200, headers: [] });
    await running;
    accept(['id-9']);
    const reply = await peer.next(FrameKind.REPLY);
    expect(reply.id).toBe(7);
    expect(JSON.parse(reply.body.toString())).toEqual({ id: 'id-9', ids: ['id-9'] });
  });
});
