export type LogStream = 'stdout' | 'stderr' | 'log' | 'build' | 'platform';

export interface LogEntry {
  ts: string;
  stream: LogStream;
  level: string;
  message: string;
  invocationId?: string;
  /** The first invocation of the chain (calls and casts) the invocation belongs to; absent for a root. */
  rootId?: string;
  version?: number;
  /** The W3C trace id of the invocation (32 hex digits). */
  traceId?: string;
  /** The logger a function's log call named, where its platform has named loggers. */
  logger?: string;
}

/** Where function output goes; the executor writes, the control API reads. */
export interface FunctionLogSink {
  append(functionName: string, entry: Omit<LogEntry, 'ts'>): void;
}
