/**
 * The conformance case of trace context (docs/runtime-protocol.md, INVOKE `traceparent`): optional for
 * a runtime. The conformance function's `/trace` answers the trace its handler's context holds, as
 * JSON `{"traceId", "traceparent", "tracestate"}`; a runtime that shows none answers `/trace` with
 * 501 (or 404, as for any path it does not know), and the case says so.
 */
import type { ConformanceCase } from './case.js';
import { call, describeReply } from './checks.js';
import { CaseFailure } from './harness.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

export const traceContext: ConformanceCase = {
  name: 'trace-context',
  summary: "optional: /trace returns the INVOKE's traceparent, its trace id and tracestate (or 501)",
  async run(ctx) {
    const rt = await ctx.start();
    const frame = await call(rt, 6, {
      method: 'GET',
      path: '/trace',
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
    }).catch((err: unknown) => {
      throw err instanceof CaseFailure ? err : new CaseFailure(String(err));
    });
    const status = frame.meta['status'];
    if (status === 501 || status === 404) return `not supported (status ${status}): optional`;
    let got: Record<string, unknown>;
    try {
      got = JSON.parse(frame.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new CaseFailure(`/trace: body is not JSON: ${describeReply(frame)}`);
    }
    const expected = { traceId: TRACE_ID, traceparent: TRACEPARENT, tracestate: TRACESTATE };
    for (const [key, want] of Object.entries(expected)) {
      if (got[key] !== want) {
        throw new CaseFailure(
          `/trace: ${key} is ${JSON.stringify(got[key])}, expected ${JSON.stringify(want)}`,
        );
      }
    }
    return 'trace id, traceparent and tracestate';
  },
};
