/** Where a command name runs from: the first executable file of that name on PATH, as exec finds it. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The file `command` (a bare name, searched on PATH; a name with a slash is taken as it is), or undefined. */
export function findOnPath(command: string): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (process.env['PATH'] ?? '').split(path.delimiter).map((dir) => path.join(dir || '.', command));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not there: the next PATH entry
    }
  }
  return undefined;
}
