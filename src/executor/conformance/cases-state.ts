/**
 * The conformance case of function state (docs/runtime-protocol.md, "State"): optional for a runtime.
 * The conformance function's `/state` sets `conformance` to `{"n":1}` if it does not exist, reads it
 * back, and sets it again with the version it read; the kit answers the set with REPLY (version 1),
 * the get with REPLY (`{"n":2}` at version 7) and the last set with FAIL `SKIFF_E_STATE_CONFLICT`. A
 * runtime without state answers `/state` with 501 (or 404), and the case says so.
 */
import { FrameKind } from '../protocol/frames.js';
import type { ConformanceCase } from './case.js';
import { describeReply, expectResult, expectText, REPLY_TIMEOUT_MS } from './checks.js';
import { CaseFailure, type ReceivedFrame, type RuntimeProcess } from './harness.js';

const KEY = 'conformance';
const WIRE_ID = 1;

/** The next STATE of the invocation, checked against what the function should ask for. */
async function nextState(
  rt: RuntimeProcess,
  invocationId: string,
  expected: Record<string, unknown>,
  body?: string,
): Promise<ReceivedFrame | undefined> {
  const frame = await rt.waitFor(
    `a STATE ${String(expected['op'])} or the reply to /state`,
    (f) =>
      f.kind === FrameKind.STATE ||
      (f.id === WIRE_ID && (f.kind === FrameKind.RESULT || f.kind === FrameKind.ERROR)),
    REPLY_TIMEOUT_MS,
  );
  if (frame.kind !== FrameKind.STATE) {
    const status = frame.kind === FrameKind.RESULT ? frame.meta['status'] : undefined;
    if (expected['op'] === 'set' && expected['ifVersion'] === 0 && (status === 501 || status === 404)) {
      return undefined;
    }
    throw new CaseFailure(`/state: expected a STATE ${String(expected['op'])}, got ${describeReply(frame)}`);
  }
  if (frame.id === 0) throw new CaseFailure('STATE with call id 0');
  const want = { invocationId, key: KEY, ...expected };
  for (const [name, value] of Object.entries(want)) {
    if (frame.meta[name] !== value) {
      throw new CaseFailure(
        `STATE ${name} is ${JSON.stringify(frame.meta[name])}, expected ${JSON.stringify(value)}`,
      );
    }
  }
  if (body !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame.body.toString('utf8'));
    } catch {
      throw new CaseFailure('STATE set body is not JSON');
    }
    if (JSON.stringify(parsed) !== body) throw new CaseFailure(`STATE set body is not ${body}`);
  }
  return frame;
}

const version = (n: number): [string, string] => ['x-skiff-state-version', String(n)];

export const state: ConformanceCase = {
  name: 'state',
  summary: 'optional: /state sends STATE set, get, set; REPLY and FAIL reach the function (or 501)',
  async run(ctx) {
    const rt = await ctx.start();
    const invocationId = rt.invoke(WIRE_ID, { path: '/state' });
    const json = { contentType: 'application/json' };
    const created = await nextState(rt, invocationId, { op: 'set', ifVersion: 0, ...json }, '{"n":1}');
    if (created === undefined) return 'not supported (/state answered without a STATE)';
    const headers = [['content-type', 'application/json'], version(1)];
    rt.send(
      FrameKind.REPLY,
      created.id,
      { status: 200, headers },
      Buffer.from('{"version":1,"created":true}'),
    );
    const get = await nextState(rt, invocationId, { op: 'get' });
    if (get === undefined) throw new CaseFailure('no STATE get');
    if (get.id === created.id) throw new CaseFailure('STATE get reuses the call id of the set');
    rt.send(
      FrameKind.REPLY,
      get.id,
      { status: 200, headers: [['content-type', 'application/json'], version(7)] },
      Buffer.from('{"n":2}'),
    );
    const stale = await nextState(rt, invocationId, { op: 'set', ifVersion: 7, ...json }, '{"n":3}');
    if (stale === undefined) throw new CaseFailure('no second STATE set');
    rt.send(FrameKind.FAIL, stale.id, { code: 'SKIFF_E_STATE_CONFLICT', message: 'key is at version 8' });
    const answer = expectResult(await rt.reply(WIRE_ID, REPLY_TIMEOUT_MS), '/state');
    expectText(answer, '1 {"n":2}@7 SKIFF_E_STATE_CONFLICT', '/state');
    return 'STATE answered by REPLY and by FAIL';
  },
};
