import type { Config } from '../../shared/config.js';
import type { FunctionSpec, RuntimeName } from '../../model/spec.js';
import { buildBinary } from './binary-build.js';
import { buildCommand } from './command-build.js';
import { buildNode, type BuildLog } from './node-build.js';
import { buildPython } from './python-build.js';
import type { BuildRunner } from './run-command.js';

export interface BuildInput {
  /** The staging folder with the extracted upload; builds write into it. */
  dir: string;
  /** Runs the build's commands in its sandbox (the work folder is `dir`). */
  runner: BuildRunner;
  spec: FunctionSpec;
  /** The handler of the function's flavor for this runtime, used when the spec names none. */
  defaultHandler: string | null;
  config: Config;
  log: BuildLog;
}

/** A runtime's build step; returns the entry (relative to dir) that the runtime's bridge loads. */
export type Builder = (input: BuildInput) => Promise<string>;

/** Runtime name → build step. */
export const BUILDERS: Record<RuntimeName, Builder> = {
  node: ({ runner, spec, defaultHandler, config, log }) =>
    buildNode(runner, spec.handler ?? defaultHandler, config, log),
  python: buildPython,
  binary: buildBinary,
  custom: buildCommand,
  http: buildCommand,
};
