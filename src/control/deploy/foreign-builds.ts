/**
 * Builds that a compatibility API runs itself (its platform's own build command, e.g. Open Runtimes'
 * `npm install && npm run build`), in the same sandbox as Skiff's builds: a work folder in the
 * artifacts' staging area, one shell line run there with the build's limits and the registry proxy.
 * What the folder then holds is the API's to pack or deploy.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
  /** A new, empty work folder on the host (waits while MAX_FOREIGN_BUILDS are open). */
  open(): Promise<string>;
  run(workDir: string, step: ForeignBuildStep): Promise<CommandResult>;
  /** Removes a work folder (every opened one must be: that frees its turn). */
  discard(workDir: string): Promise<void>;
}

/**
 * Work folders open at once (each holds a build sandbox of up to the build limits while its step
 * runs): a burst of an API's builds waits for a turn instead of taking the host from everyone else.
 */
export const MAX_FOREIGN_BUILDS = Math.max(2, availableParallelism());

export function createForeignBuilds(
  sandbox: Sandbox,
  artifacts: ArtifactStore,
  config: Config,
  maxOpen = MAX_FOREIGN_BUILDS,
): ForeignBuilds {
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  let open = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) open -= 1;
    else next();
  };
  const opened = new Set<string>();
  return {
    dirOf: (workDir) => (sandbox.kind === 'bubblewrap' ? BUILD_DIR : workDir),
    async open() {
      if (open < maxOpen) open += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        const workDir = await artifacts.createStaging();
        opened.add(workDir);
        return workDir;
      } catch (err) {
        release();
        throw err;
      }
    },
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
    async discard(workDir) {
      try {
        await artifacts.discard(workDir);
      } finally {
        if (opened.delete(workDir)) release();
      }
    },
  };
}
