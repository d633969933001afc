import type { Config } from '../shared/config.js';
import { runtimeFile } from '../shared/paths.js';

/**
 * How a bridge shipped under dist/runtimes is started on the platform's Node (the exec, http and node
 * bridges, a flavor's shim): the program and its arguments, with `flags` before the file.
 */
export function nodeBridge(
  config: Config,
  file: readonly string[],
  flags: readonly string[] = [],
): { command: string; args: string[] } {
  return {
    command: config.runtimes.node,
    args: [...flags, '--disable-warning=ExperimentalWarning', '--enable-source-maps', runtimeFile(...file)],
  };
}
