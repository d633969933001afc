/** What a conformance case is, and what it gets to run with. */
import type { RuntimeProcess } from './harness.js';

export interface CaseContext {
  /** Starts a fresh runtime process and completes HELLO → INIT → READY. */
  start(): Promise<RuntimeProcess>;
  /** Starts a fresh runtime process without any handshake. */
  spawn(): RuntimeProcess;
  helloTimeoutMs: number;
  readyTimeoutMs: number;
}

export interface ConformanceCase {
  name: string;
  /** One line: what the case checks. */
  summary: string;
  run(ctx: CaseContext): Promise<string>;
}
