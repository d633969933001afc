/**
 * Builds that a compatibility API runs itself (its platform's own build command, e.g. Open Runtimes'
 * `npm install && npm run build`), in the same sandbox as Skiff's builds: a work folder in the
 * artifacts' staging area, one shell line run there with the build's limits and the registry proxy.
 * What the folder then holds is the API's to pack or deploy.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../../shared/config.js';
import { BUILD_DIR } from '../../sandbox/build-sandbox.js';
import type { CommandResult } from '../../languages/build-runner.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import type { ArtifactStore } from '../../store/artifacts.js';
import { createBuildRunner } from './run-command.js';

export interface ForeignBuildStep {
  /** A shell line, run by bash (sh when there is no bash) in the work folder. */
  line: string;
  env: Record<string, string>;
  /** Its time limit, at most the platform's `build.timeoutMs`. */
  timeoutMs: number;
  /** Each chunk of its output as it comes. */
  onOutput?: (text: string) => void;
}

export interface ForeignBuilds {
  /** Work folder `workDir` as the step sees it (its cwd). */
  dirOf(workDir: string): string;
  /** A new, empty work folder on the host. */
  open(): Promise<string>;
  run(workDir: string, step: ForeignBuildStep): Promise<CommandResult>;
  /** Removes a work folder. */
  discard(workDir: string): Promise<void>;
}

export function createForeignBuilds(
  sandbox: Sandbox,
  artifacts: ArtifactStore,
  config: Config,
): ForeignBuilds {
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  return {
    dirOf: (workDir) => (sandbox.kind === 'bubblewrap' ? BUILD_DIR : workDir),
    open: () => artifacts.createStaging(),
    async run(workDir, step) {
      const runner = createBuildRunner(sandbox, workDir, config, () => {});
      try {
        return await runner.run({
          command: shell,
          args: ['-c', step.line],
          registry: true,
          env: step.env,
          timeoutMs: step.timeoutMs,
          ...(step.onOutput === undefined ? {} : { onOutput: step.onOutput }),
        });
      } finally {
        await runner.finish();
      }
    },
    discard: (workDir) => artifacts.discard(workDir),
  };
}
