import type { Config } from '../shared/config.js';
import { runtimeFile } from '../shared/paths.js';

/**
 * How a bridge shipped under dist/runtimes is started on the platform's Node (the exec, http and node
 * bridges, a flavor's shim): the program and its arguments, with `flags` before the file.
 * `sourceMapsAtStart: false` leaves out `--enable-source-maps` (about 8 ms of every start, most of it
 * reading the bridge's own maps) for a bridge that turns them on itself before user code loads (the
 * Node bridge, at INIT).
 */
export function nodeBridge(
  config: Config,
  file: readonly string[],
  flags: readonly string[] = [],
  sourceMapsAtStart = true,
): { command: string; args: string[] } {
  const maps = sourceMapsAtStart ? ['--enable-source-maps'] : [];
  return {
    command: config.runtimes.node,
    args: [...flags, '--disable-warning=ExperimentalWarning', ...maps, runtimeFile(...file)],
  };
}
