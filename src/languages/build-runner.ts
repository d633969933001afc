/**
 * What a runtime's build step may ask of the platform: run commands in the build's sandbox, in the
 * work folder. The deployer implements it (src/control/deploy/run-command.ts, with the sandbox, the
 * build proxy and the build's time limit); build steps see only this contract.
 */

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

/** One build step: a command run in the build's sandbox, in the work folder. */
export interface BuildStep {
  command: string;
  args: string[];
  /** The step installs from a package registry: with `build.network: registry` it gets the proxy. */
  registry?: boolean;
  /** A static binary that needs nothing of the system (esbuild): no /usr, /etc or runtimes inside. */
  bare?: boolean;
  /** Host paths the step reads, bound read-only at the same path. */
  readOnly?: string[];
  env?: Record<string, string>;
  /** Told each chunk of the step's output (stdout and stderr) as it comes. */
  onOutput?: (text: string) => void;
  /**
   * The step's output lines go to the build log as they come (non-blank, without trailing spaces), so
   * that a deploy that streams its progress shows them while the step runs.
   */
  logOutput?: boolean;
  /** What the step does, for the deploy's progress ("installing dependencies", "compiling"). */
  label?: string;
  /** This step's own time limit, within what is left of the build's. */
  timeoutMs?: number;
}

export interface BuildRunner {
  /** The work folder on the host (the staging folder). */
  workDir: string;
  /** The work folder as build steps see it (their cwd; paths in their arguments start here). */
  dir: string;
  /** Whether steps run in bubblewrap (else as plain processes, `sandbox.mode: none`). */
  isolated: boolean;
  /** Runs a step within what is left of the build's time (`build.timeoutMs` for the whole build). */
  run(step: BuildStep): Promise<CommandResult>;
  /** After the last step (whether the build worked or not): the work folder back to the platform. */
  finish(): Promise<void>;
}
