/**
 * The conformance case of calls between functions (docs/runtime-protocol.md, "Calls"): optional for a
 * runtime. The conformance function's `/call` calls `conformance-callee` at `/callee` with the request
 * body; the kit answers the first CALL with REPLY and the second with FAIL. A runtime that makes no
 * calls answers `/call` with 501 (or 404, as for any path it does not know), and the case says so.
 */
import { FrameKind } from '../protocol/frames.js';
import type { ConformanceCase } from './case.js';
import { describeReply, expectResult, expectStatus, expectText, REPLY_TIMEOUT_MS } from './checks.js';
import { CaseFailure, type ReceivedFrame, type RuntimeProcess } from './harness.js';

const CALLEE = 'conformance-callee';

/** Invokes `/call`; resolves with its CALL, or with undefined when the runtime answered without one. */
async function expectCall(
  rt: RuntimeProcess,
  wireId: number,
  body: string,
): Promise<ReceivedFrame | undefined> {
  const invocationId = rt.invoke(wireId, { path: '/call', body: Buffer.from(body) });
  const first = await rt.waitFor(
    `a CALL or the reply to /call (wire id ${wireId})`,
    (f) =>
      f.kind === FrameKind.CALL ||
      (f.id === wireId && (f.kind === FrameKind.RESULT || f.kind === FrameKind.ERROR)),
    REPLY_TIMEOUT_MS,
  );
  if (first.kind !== FrameKind.CALL) {
    const status = first.kind === FrameKind.RESULT ? first.meta['status'] : undefined;
    if (status === 501 || status === 404) return undefined;
    throw new CaseFailure(`/call: expected a CALL or status 501, got ${describeReply(first)}`);
  }
  const { meta } = first;
  if (meta['invocationId'] !== invocationId) {
    throw new CaseFailure(
      `CALL names invocation ${JSON.stringify(meta['invocationId'])}, not the caller's ${invocationId}`,
    );
  }
  if (meta['function'] !== CALLEE || (meta['path'] ?? '/') !== '/callee') {
    throw new CaseFailure(
      `CALL for ${JSON.stringify(meta['function'])} at ${JSON.stringify(meta['path'])}, expected ${CALLEE} at /callee`,
    );
  }
  if (first.body.toString('utf8') !== body) throw new CaseFailure('CALL body is not the request body');
  if (first.id === 0) throw new CaseFailure('CALL with call id 0');
  return first;
}

export const calls: ConformanceCase = {
  name: 'call',
  summary: 'optional: /call sends CALL for its invocation; REPLY and FAIL reach the function (or 501)',
  async run(ctx) {
    const rt = await ctx.start();
    const first = await expectCall(rt, 1, 'ping');
    if (first === undefined) return 'not supported (/call answered without a CALL)';
    rt.send(FrameKind.REPLY, first.id, { status: 201, headers: [['x-callee', 'yes']] }, Buffer.from('pong'));
    const replied = expectResult(await rt.reply(1, REPLY_TIMEOUT_MS), '/call after REPLY');
    expectStatus(replied, 200, '/call after REPLY');
    expectText(replied, '201 yes pong', '/call after REPLY');
    const second = await expectCall(rt, 2, 'again');
    if (second === undefined) throw new CaseFailure('the second /call sent no CALL');
    rt.send(FrameKind.FAIL, second.id, { code: 'SKIFF_E_FUNCTION_NOT_FOUND', message: 'no such function' });
    const failed = expectResult(await rt.reply(2, REPLY_TIMEOUT_MS), '/call after FAIL');
    expectText(failed, 'failed SKIFF_E_FUNCTION_NOT_FOUND', '/call after FAIL');
    return 'CALL answered by REPLY and by FAIL';
  },
};
