/**
 * The conformance cases, in the order they run. Each starts its own runtime process(es) through
 * `ctx.start()`, drives the conformance function (docs/runtime-protocol.md, section 9) and returns a
 * short detail on success or throws a CaseFailure with the reason. The cases themselves are in
 * `cases-messages.ts` (one invocation's content) and `cases-lifecycle.ts` (the runtime as a process).
 */
import type { ConformanceCase } from './case.js';
import { CASE_NAMES } from './case-names.js';
import { calls } from './cases-calls.js';
import { casts } from './cases-casts.js';
import { state } from './cases-state.js';
import { traceContext } from './cases-trace.js';
import { cancel, concurrent, crash, eof, health, shutdown, unknownKind } from './cases-lifecycle.js';
import {
  binaryBody,
  context,
  echo,
  handshake,
  largeBody,
  logLines,
  statusHeaders,
  userError,
} from './cases-messages.js';

export type { CaseContext, ConformanceCase } from './case.js';

export const CASES: readonly ConformanceCase[] = [
  handshake,
  echo,
  binaryBody,
  largeBody,
  statusHeaders,
  concurrent,
  context,
  traceContext,
  logLines,
  userError,
  calls,
  casts,
  state,
  cancel,
  health,
  unknownKind,
  shutdown,
  crash,
  eof,
];

export { CASE_NAMES };

// case-names.ts is what the CLI lists: a case added, renamed or moved here is added there too
if (CASES.map((c) => c.name).join() !== CASE_NAMES.join()) {
  throw new Error(`conformance cases ${CASES.map((c) => c.name).join()} differ from case-names.ts`);
}
