/**
 * The conformance cases' names in their order, without the cases (`skiff runtime test --help` lists
 * them without loading the harness). cases.ts refuses to load when its cases differ from this list.
 */
export const CASE_NAMES: readonly string[] = [
  'handshake',
  'echo',
  'binary-body',
  'large-body',
  'status-headers',
  'concurrent',
  'context',
  'trace-context',
  'log-lines',
  'user-error',
  'call',
  'cast',
  'state',
  'cancel',
  'health',
  'unknown-kind',
  'shutdown',
  'crash',
  'eof',
];
