/** Small assertions shared by the conformance cases; each throws a CaseFailure with a readable reason. */
import { FrameKind } from '../protocol/frames.js';
import { CaseFailure, type InvokeRequest, type ReceivedFrame, type RuntimeProcess } from './harness.js';

/** How long an ordinary invocation may take before the case fails. */
export const REPLY_TIMEOUT_MS = 5_000;

export function describeReply(frame: ReceivedFrame): string {
  if (frame.kind === FrameKind.ERROR) {
    return `ERROR ${String(frame.meta['code'])}: ${String(frame.meta['message'])}`;
  }
  return `RESULT ${String(frame.meta['status'])}`;
}

/** The frame must be a RESULT with a valid meta; returns it. */
export function expectResult(frame: ReceivedFrame, what: string): ReceivedFrame {
  if (frame.kind !== FrameKind.RESULT)
    throw new CaseFailure(`${what}: expected a RESULT, got ${describeReply(frame)}`);
  const { status, headers } = frame.meta;
  if (typeof status !== 'number' || !Number.isInteger(status)) {
    throw new CaseFailure(`${what}: RESULT meta has no integer "status"`);
  }
  if (!Array.isArray(headers) || !headers.every((h) => Array.isArray(h) && h.length === 2)) {
    throw new CaseFailure(`${what}: RESULT meta "headers" is not a list of [name, value] pairs`);
  }
  return frame;
}

/** Invokes and waits for a RESULT (an ERROR fails the case). */
export async function call(
  rt: RuntimeProcess,
  id: number,
  request: InvokeRequest,
  timeoutMs = REPLY_TIMEOUT_MS,
): Promise<ReceivedFrame> {
  rt.invoke(id, request);
  return expectResult(await rt.reply(id, timeoutMs), `${request.method ?? 'POST'} ${request.path}`);
}

/** The value of a response header (names compared case-insensitively), or undefined. */
export function header(frame: ReceivedFrame, name: string): string | undefined {
  const pairs = frame.meta['headers'] as [string, string][];
  const pair = pairs.find(([key]) => key.toLowerCase() === name);
  return pair === undefined ? undefined : String(pair[1]);
}

export function expectStatus(frame: ReceivedFrame, status: number, what: string): void {
  if (frame.meta['status'] !== status) {
    throw new CaseFailure(`${what}: status ${String(frame.meta['status'])}, expected ${status}`);
  }
}

export function expectHeader(frame: ReceivedFrame, name: string, value: string, what: string): void {
  const actual = header(frame, name);
  if (actual !== value) {
    const shown = actual === undefined ? 'missing' : JSON.stringify(actual);
    throw new CaseFailure(`${what}: header ${name} is ${shown}, expected ${JSON.stringify(value)}`);
  }
}

/** Byte-equal bodies; on a mismatch the reason names the lengths and the first differing offset. */
export function expectBody(frame: ReceivedFrame, expected: Uint8Array, what: string): void {
  const actual = frame.body;
  if (actual.equals(expected)) return;
  let offset = 0;
  while (offset < actual.length && offset < expected.length && actual[offset] === expected[offset]) offset++;
  if (expected.length <= 64 && actual.length <= 64) {
    throw new CaseFailure(
      `${what}: body ${JSON.stringify(actual.toString('utf8'))}, expected ${JSON.stringify(Buffer.from(expected).toString('utf8'))}`,
    );
  }
  throw new CaseFailure(
    `${what}: body of ${actual.length} bytes differs from the ${expected.length} bytes expected, first at byte ${offset}`,
  );
}

export function expectText(frame: ReceivedFrame, text: string, what: string): void {
  expectBody(frame, Buffer.from(text, 'utf8'), what);
}

/** Milliseconds since a performance.now() reading, rounded. */
export const ms = (since: number) => Math.round(performance.now() - since);

const PONG_TIMEOUT_MS = 1_000;

/** Sends a PING and waits for its PONG; returns the round trip in ms. */
export async function ping(rt: RuntimeProcess, id: number): Promise<number> {
  const sent = performance.now();
  rt.send(FrameKind.PING, id);
  await rt.waitFor(
    `PONG for PING id ${id}`,
    (f) => f.kind === FrameKind.PONG && f.id === id,
    PONG_TIMEOUT_MS,
  );
  return ms(sent);
}

/** An /echo on wire id `id` must still be answered after `what`. */
export async function expectAlive(rt: RuntimeProcess, id: number, what: string): Promise<void> {
  const body = `still alive after ${what}`;
  const frame = await call(rt, id, {
    path: '/echo',
    body: Buffer.from(body),
    headers: [['content-type', 'text/plain']],
  });
  expectStatus(frame, 200, `/echo after ${what}`);
  expectText(frame, body, `/echo after ${what}`);
}
