/**
 * The runtimes a function can name in its spec, one record each (runtime.ts). Adding one: its name
 * in RUNTIME_NAMES (src/model/spec.ts, the spec schema's enum), a file here with its record, and its
 * line in this table; TypeScript refuses the table until every name has a record under its own name.
 */
import type { RuntimeName } from '../model/spec.js';
import type { Config } from '../shared/config.js';
import { binary } from './binary.js';
import { custom } from './custom.js';
import { http } from './http.js';
import { node } from './node.js';
import { python } from './python.js';
import type { Runtime } from './runtime.js';

export type { Runtime } from './runtime.js';

/** Runtime name → its record. */
export const RUNTIMES = { node, python, binary, custom, http } as const satisfies {
  readonly [N in RuntimeName]: Runtime<N>;
};

/** The record of one runtime. */
export function runtimeOf(name: RuntimeName): Runtime {
  return RUNTIMES[name];
}

/**
 * The interpreters the platform runs bridges with (each once, in the table's order): what every
 * sandbox needs to see read-only (passed to `Sandbox.open` by the composition root).
 */
export function interpreters(config: Config): string[] {
  const all = Object.values(RUNTIMES).map((runtime: Runtime) => runtime.interpreter(config));
  return [...new Set(all.filter((file): file is string => file !== null))];
}
