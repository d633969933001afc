import type { Config } from '../../shared/config.js';
import { SkiffError } from '../../shared/errors.js';
import type { FunctionSpec, RuntimeName } from '../spec.js';
import { buildNode, type BuildLog } from './node-build.js';

export interface BuildInput {
  /** The staging folder with the extracted upload; builds write into it. */
  dir: string;
  spec: FunctionSpec;
  config: Config;
  log: BuildLog;
}

/** A runtime's build step; returns the entry (relative to dir) that the runtime's bridge loads. */
export type Builder = (input: BuildInput) => Promise<string>;

const notYet =
  (runtime: string): Builder =>
  () =>
    Promise.reject(new SkiffError('SKIFF_E_INVALID_SPEC', `the ${runtime} runtime is not available yet`));

/** Runtime name → build step. */
export const BUILDERS: Record<RuntimeName, Builder> = {
  node: ({ dir, spec, config, log }) => buildNode(dir, spec.handler, config, log),
  python: notYet('python'),
  binary: notYet('binary'),
  custom: notYet('custom'),
  http: notYet('http'),
};
