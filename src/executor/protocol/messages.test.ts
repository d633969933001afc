import { describe, expect, it } from 'vitest';
import { FrameKind, type Frame } from './frames.js';
import { bridgeFrameSchema, parseBridgeFrame, parsePlatformFrame } from './messages.js';

const frame = (kind: number, meta: Record<string, unknown>, id = 1): Frame => ({
  kind,
  id,
  meta,
  body: Buffer.alloc(0),
});

function reasonOf(f: Frame): string {
  const parsed = parseBridgeFrame(f);
  if (parsed.ok) throw new Error('expected the frame to be refused');
  return parsed.reason;
}

describe('runtime protocol schemas', () => {
  it('accepts the frames a bridge sends, with their types', () => {
    const result = parseBridgeFrame(frame(FrameKind.RESULT, { status: 201, headers: [['a', 'b']] }));
    expect(result).toMatchObject({
      ok: true,
      frame: { kind: 5, meta: { status: 201, headers: [['a', 'b']] } },
    });
    expect(parseBridgeFrame(frame(FrameKind.ERROR, { code: 'FUNCTION_ERROR', message: 'm' })).ok).toBe(true);
    expect(parseBridgeFrame(frame(FrameKind.LOG, { stream: 'log', level: 'warn' })).ok).toBe(true);
    expect(parseBridgeFrame(frame(FrameKind.HELLO, { protocol: 1, runtime: 'x', pid: 3 }, 0)).ok).toBe(true);
    expect(parseBridgeFrame(frame(FrameKind.READY, {}, 0)).ok).toBe(true);
    expect(parseBridgeFrame(frame(FrameKind.PONG, {}, 7)).ok).toBe(true);
  });

  it('checks a RESULT (its own quick path) exactly as its schema does', () => {
    const metas: Record<string, unknown>[] = [
      { status: 200, headers: [] },
      {
        status: 599,
        headers: [
          ['a', 'b'],
          ['c', ''],
        ],
        more: { x: 1 },
      },
      { status: 99, headers: [['a', 'b']] },
      { status: -0, headers: [] },
      { status: 200.5, headers: [] },
      { status: 2 ** 60, headers: [] },
      { status: '200', headers: [] },
      { status: 200 },
      { headers: [] },
      { status: 200, headers: {} },
      { status: 200, headers: [['a']] },
      { status: 200, headers: [['a', 'b', 'c']] },
      { status: 200, headers: [['a', 1]] },
      { status: 200, headers: [[1, 'b']] },
      { status: 200, headers: ['ab'] },
      { status: 200, headers: [null] },
      { status: null, headers: [] },
    ];
    for (const meta of metas) {
      const f = frame(FrameKind.RESULT, meta, 9);
      const byHand = parseBridgeFrame(f);
      const bySchema = bridgeFrameSchema.safeParse(f);
      expect(byHand.ok, JSON.stringify(meta)).toBe(bySchema.success);
      if (byHand.ok && bySchema.success) expect(byHand.frame).toEqual(bySchema.data);
      if (!byHand.ok) expect(byHand.reason).toMatch(/^RESULT frame: meta/);
    }
  });

  it('drops fields it does not know', () => {
    const parsed = parseBridgeFrame(frame(FrameKind.RESULT, { status: 200, headers: [], extra: 1 }));
    expect(parsed.ok && parsed.frame.meta).toEqual({ status: 200, headers: [] });
  });

  it('refuses an ERROR without a string message, or with a code it does not know', () => {
    expect(reasonOf(frame(FrameKind.ERROR, { code: 'FUNCTION_ERROR' }))).toMatch(
      /^ERROR frame: meta\.message/,
    );
    expect(reasonOf(frame(FrameKind.ERROR, { code: 'FUNCTION_ERROR', message: 42 }))).toContain('message');
    expect(reasonOf(frame(FrameKind.ERROR, { code: 'NOPE', message: 'x' }))).toContain('meta.code');
  });

  it('refuses a RESULT whose status is not an integer or whose headers are not string pairs', () => {
    for (const status of ['200', 200.5, null, 1e300]) {
      expect(reasonOf(frame(FrameKind.RESULT, { status, headers: [] }))).toContain('meta.status');
    }
    for (const headers of [{ a: 'b' }, [['a', 1]], [['a', 'b', 'c']], [['a']], 'x']) {
      expect(reasonOf(frame(FrameKind.RESULT, { status: 200, headers }))).toContain('meta.headers');
    }
  });

  it('refuses a LOG with a stream or level that is not one of the protocol', () => {
    expect(reasonOf(frame(FrameKind.LOG, { stream: 5, level: 'info' }))).toContain('meta.stream');
    expect(reasonOf(frame(FrameKind.LOG, { stream: 'stdout' }))).toContain('meta.level');
  });

  it('refuses kinds a bridge may not send, by name', () => {
    expect(reasonOf(frame(99, {}))).toBe('kind 99 is not a frame a runtime may send');
    expect(reasonOf(frame(FrameKind.INVOKE, {}))).toBe('INVOKE is not a frame a runtime may send');
  });

  it('keeps the reason short whatever the meta holds', () => {
    const key = 'k'.repeat(100_000);
    const reason = reasonOf(frame(FrameKind.RESULT, { status: 200, headers: { [key]: 1 } }));
    expect(reason.length).toBeLessThanOrEqual(301);
  });

  it('parses what the platform sends for the bridges', () => {
    const init = {
      codeDir: '/fn',
      handler: 'index.mjs',
      function: 'f',
      version: 1,
      env: { A: 'b' },
      secrets: {},
    };
    expect(parsePlatformFrame(frame(FrameKind.INIT, init, 0)).ok).toBe(true);
    expect(parsePlatformFrame(frame(FrameKind.INIT, { ...init, env: { A: 1 } }, 0)).ok).toBe(false);
    expect(parsePlatformFrame(frame(FrameKind.SHUTDOWN, { graceMs: 10 }, 0)).ok).toBe(true);
    expect(parsePlatformFrame(frame(FrameKind.SHUTDOWN, {}, 0)).ok).toBe(false);
  });

  it('parses CALL from a bridge, REPLY and FAIL from the platform', () => {
    const call = { invocationId: 'i', function: 'f', method: 'POST', path: '/a?b=1', headers: [['x', 'y']] };
    expect(parseBridgeFrame(frame(FrameKind.CALL, call, 3))).toMatchObject({
      ok: true,
      frame: { meta: call },
    });
    expect(parseBridgeFrame(frame(FrameKind.CALL, { invocationId: 'i', function: 'f' })).ok).toBe(true);
    expect(reasonOf(frame(FrameKind.CALL, { function: 'f' }))).toContain('meta.invocationId');
    expect(reasonOf(frame(FrameKind.CALL, { invocationId: 'i', function: '' }))).toContain('meta.function');
    expect(reasonOf(frame(FrameKind.CALL, { ...call, path: 'no-slash' }))).toContain('meta.path');
    expect(reasonOf(frame(FrameKind.CALL, { ...call, headers: [['x', 1]] }))).toContain('meta.headers');
    expect(reasonOf(frame(FrameKind.REPLY, { status: 200, headers: [] }))).toBe(
      'REPLY is not a frame a runtime may send',
    );
    expect(parsePlatformFrame(frame(FrameKind.REPLY, { status: 500, headers: [] })).ok).toBe(true);
    expect(parsePlatformFrame(frame(FrameKind.REPLY, { status: '500', headers: [] })).ok).toBe(false);
    expect(parsePlatformFrame(frame(FrameKind.FAIL, { code: 'SKIFF_E_CALL_DEPTH', message: 'm' })).ok).toBe(
      true,
    );
    expect(parsePlatformFrame(frame(FrameKind.FAIL, { code: 'SKIFF_E_CALL_DEPTH' })).ok).toBe(false);
    expect(parsePlatformFrame(frame(FrameKind.CALL, call)).ok).toBe(false);
  });
});
