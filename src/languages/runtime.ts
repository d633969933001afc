import type { Deployment } from '../model/deployment.js';
import type { FunctionSpec, RuntimeName } from '../model/spec.js';
import type { LaunchSpec } from '../sandbox/launch.js';
import type { Config } from '../shared/config.js';
import type { BuildRunner } from './build-runner.js';

/** Where a build step writes the lines of its build log. */
export type BuildLog = (line: string) => void;

export interface BuildInput {
  /** The staging folder with the extracted upload; builds write into it. */
  dir: string;
  /** Runs the build's commands in its sandbox (the work folder is `dir`). */
  runner: BuildRunner;
  spec: FunctionSpec;
  /**
   * The handler to build, in Skiff's form: the spec's (a flavor's own notation mapped onto Skiff's),
   * else the flavor's default for this runtime; null: the runtime's own default.
   */
  handler: string | null;
  config: Config;
  log: BuildLog;
  /** false: the upload brings its dependencies; npm and pip are not run. */
  installDependencies: boolean;
}

/** A runtime's build step; returns the entry (relative to dir) that the runtime's bridge loads. */
export type Builder = (input: BuildInput) => Promise<string>;

/**
 * Everything the platform knows about one runtime (the spec's `runtime`), in one record: how a deploy
 * builds a function of it, how an instance of it starts, whether it has a generic bridge for the warm
 * pool, and which interpreter its bridge runs with. One file per runtime in this folder holds its
 * record; `RUNTIMES` (index.ts) is the table of them.
 */
export interface Runtime<N extends RuntimeName = RuntimeName> {
  /** The spec's `runtime` value (the table checks it matches the record's key). */
  readonly name: N;
  /** The deploy-time build step, run in the build's sandbox. */
  readonly build: Builder;
  /** The process of one instance of a deployed function (the sandbox wraps it). */
  readonly launch: (deployment: Deployment, config: Config) => LaunchSpec;
  /**
   * A generic bridge with no function loaded, for the warm pool: INIT later brings the code folder,
   * env and secrets. null for runtimes whose process is the user's own command.
   */
  readonly launchWarm: ((config: Config, memoryMb?: number) => LaunchSpec) | null;
  /**
   * true when the warm bridge is started for the default memory limit (`sandbox.limits.memoryMb`,
   * e.g. Node's heap flags; `launchWarm(config, memoryMb)` sizes one for another limit): a function
   * with another limit gets a warm process of its size (the warm pool keeps a few such sizes).
   */
  readonly warmSizedByMemory?: true;
  /**
   * The executable the platform runs this runtime's bridge with, or null when the function brings its
   * own. The composition root hands these to the sandbox, which binds each one's installation
   * read-only into every sandbox when it lives outside /usr.
   */
  readonly interpreter: (config: Config) => string | null;
  /**
   * After a version built but failed to load with a syntax error its runtime reports without a place
   * (Node's ES modules): the errors with file:line:column, found in the built folder, or undefined.
   */
  readonly explainSyntaxError?: (runner: BuildRunner, entry: string) => Promise<string | undefined>;
}
