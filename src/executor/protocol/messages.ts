/** Meta shapes of the runtime protocol v1 frames (docs/runtime-protocol.md). */
export type HeaderPairs = [string, string][];

export interface HelloMeta {
  protocol: number;
  runtime: string;
  runtimeVersion?: string;
  pid?: number;
}

export interface InitMeta {
  codeDir: string;
  handler: string;
  function: string;
  version: number;
  env: Record<string, string>;
  /** The function's secrets (name → value); also in the process environment. */
  secrets: Record<string, string>;
  /**
   * The function's calling convention: `native` (absent) or a compatibility flavor such as
   * `tinyfaas` (docs/runtime-protocol.md). A bridge that does not know a flavor fails INIT.
   */
  flavor?: string;
}

export interface InvokeMeta {
  invocationId: string;
  method: string;
  url: string;
  headers: HeaderPairs;
  deadline: number;
  trigger: string;
}

export interface ResultMeta {
  status: number;
  headers: HeaderPairs;
}

/** Codes a bridge may report in an ERROR frame. */
export type BridgeErrorCode =
  'FUNCTION_ERROR' | 'INIT_ERROR' | 'BAD_RESPONSE' | 'RESPONSE_TOO_LARGE' | 'CANCELLED';

export interface ErrorMeta {
  code: BridgeErrorCode;
  message: string;
  stack?: string;
  /** FUNCTION_ERROR of a program run per request (binary runtime): its exit code, shown to the caller. */
  exitCode?: number;
}

export interface LogMeta {
  stream: 'stdout' | 'stderr' | 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
}

export interface ShutdownMeta {
  graceMs: number;
}
