/**
 * The conformance case of casts between functions (docs/runtime-protocol.md, "Casts"): optional for a
 * runtime. The conformance function's `/cast` casts the request body to `conformance-callee` with
 * `delayMs` 250 and answers `cast <id>`; the kit answers the first CAST with REPLY 202 and an id, the
 * second with FAIL. A CAST takes its id from the call id space: it may not reuse the id of a call in
 * flight. A runtime that makes no casts answers `/cast` with 501 (or 404), and the case says so.
 */
import { FrameKind } from '../protocol/frames.js';
import type { ConformanceCase } from './case.js';
import { describeReply, expectResult, expectText, REPLY_TIMEOUT_MS } from './checks.js';
import { CaseFailure, type ReceivedFrame, type RuntimeProcess } from './harness.js';

const TARGET = 'conformance-callee';
const DELAY_MS = 250;

/** Invokes `/cast`; resolves with its CAST, or with undefined when the runtime answered without one. */
async function expectCast(
  rt: RuntimeProcess,
  wireId: number,
  body: string,
): Promise<ReceivedFrame | undefined> {
  const invocationId = rt.invoke(wireId, { path: '/cast', body: Buffer.from(body) });
  const first = await rt.waitFor(
    `a CAST or the reply to /cast (wire id ${wireId})`,
    (f) =>
      f.kind === FrameKind.CAST ||
      (f.id === wireId && (f.kind === FrameKind.RESULT || f.kind === FrameKind.ERROR)),
    REPLY_TIMEOUT_MS,
  );
  if (first.kind !== FrameKind.CAST) {
    const status = first.kind === FrameKind.RESULT ? first.meta['status'] : undefined;
    if (status === 501 || status === 404) return undefined;
    throw new CaseFailure(`/cast: expected a CAST or status 501, got ${describeReply(first)}`);
  }
  const { meta } = first;
  if (meta['invocationId'] !== invocationId) {
    throw new CaseFailure(
      `CAST names invocation ${JSON.stringify(meta['invocationId'])}, not the caster's ${invocationId}`,
    );
  }
  if (meta['function'] !== TARGET || meta['delayMs'] !== DELAY_MS) {
    throw new CaseFailure(
      `CAST for ${JSON.stringify(meta['function'])} with delayMs ${JSON.stringify(meta['delayMs'])}, expected ${TARGET} with ${DELAY_MS}`,
    );
  }
  if (first.body.toString('utf8') !== body) throw new CaseFailure('CAST body is not the request body');
  if (first.id === 0) throw new CaseFailure('CAST with call id 0');
  return first;
}

export const casts: ConformanceCase = {
  name: 'cast',
  summary:
    'optional: /cast sends CAST (call id space) for its invocation; REPLY ids and FAIL reach it (or 501)',
  async run(ctx) {
    const rt = await ctx.start();
    const first = await expectCast(rt, 1, 'fire');
    if (first === undefined) return 'not supported (/cast answered without a CAST)';
    const id = '6f0c2d1e-0000-4000-8000-000000000001';
    rt.send(
      FrameKind.REPLY,
      first.id,
      { status: 202, headers: [['content-type', 'application/json']] },
      Buffer.from(JSON.stringify({ id, ids: [id] })),
    );
    expectText(expectResult(await rt.reply(1, REPLY_TIMEOUT_MS), '/cast after REPLY'), `cast ${id}`, '/cast');
    const second = await expectCast(rt, 2, 'again');
    if (second === undefined) throw new CaseFailure('the second /cast sent no CAST');
    rt.send(FrameKind.FAIL, second.id, { code: 'SKIFF_E_QUEUE_FULL', message: 'the queue is full' });
    const failed = expectResult(await rt.reply(2, REPLY_TIMEOUT_MS), '/cast after FAIL');
    expectText(failed, 'failed SKIFF_E_QUEUE_FULL', '/cast after FAIL');
    return 'CAST answered by REPLY (the id) and by FAIL';
  },
};
