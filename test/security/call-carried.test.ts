/**
 * A CALL's carried refusal (SKIFF_E_CALL_DEPTH) that arrives after its caller's invocation settled (the
 * handler did not wait for the call, or the invocation timed out) must not be remembered: nothing would
 * ever forget it, so every such invocation would leak an entry for the instance's whole life.
 */
import { describe, expect, it } from 'vitest';
import { CallDesk } from '../../src/executor/protocol/call-desk.js';
import { SkiffError } from '../../src/shared/errors.js';
import { invocation, settle } from '../helpers/fake-runtime-peer.js';

function desk() {
  const inFlight = new Set<string>();
  const sent: { kind: number; id: number; meta: object }[] = [];
  const d = new CallDesk({
    service: () => ({
      host: { call: () => Promise.reject(new SkiffError('SKIFF_E_CALL_DEPTH', 'too deep')) },
      limits: { maxInFlight: 1000, maxBodyBytes: 1024 },
    }),
    caller: (id) =>
      inFlight.has(id)
        ? { invocation: invocation(id), deadline: Date.now() + 5_000, written: true }
        : undefined,
    send: (kind, id, meta) => sent.push({ kind, id, meta }),
    violation: (reason) => {
      throw new Error(reason);
    },
    log: () => undefined,
  });
  return { d, inFlight, sent };
}

describe('a carried refusal for an invocation that already settled', () => {
  it('is answered with FAIL but not remembered', async () => {
    const { d, inFlight, sent } = desk();
    for (let i = 0; i < 100; i++) {
      const id = `inv-${i}`;
      inFlight.add(id);
      d.onCall(i, { invocationId: id, function: 'b' }, Buffer.alloc(0));
      // the bridge answered (RESULT in the same chunk as the CALL): the invocation settles first
      inFlight.delete(id);
      d.forget(id);
    }
    await settle();
    // each call is answered once: cancelled when its invocation settled (the refusal came too late)
    expect(sent).toHaveLength(100);
    expect(new Set(sent.map((f) => f.id)).size).toBe(100);
    expect(sent.every((f) => (f.meta as { code: string }).code === 'SKIFF_E_CANCELLED')).toBe(true);
    for (let i = 0; i < 100; i++) expect(d.uncaught(`inv-${i}`, 'SKIFF_E_CALL_DEPTH')).toBeUndefined();
  });

  it('is still carried while the invocation is in flight', async () => {
    const { d, inFlight } = desk();
    inFlight.add('live');
    d.onCall(1, { invocationId: 'live', function: 'b' }, Buffer.alloc(0));
    await settle();
    expect(d.uncaught('live', 'SKIFF_E_CALL_DEPTH')?.code).toBe('SKIFF_E_CALL_DEPTH');
    d.forget('live');
    expect(d.uncaught('live', 'SKIFF_E_CALL_DEPTH')).toBeUndefined();
  });
});
