import path from 'node:path';
import type { Config } from '../shared/config.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import { baseEnv, instanceEnv } from './instance-env.js';
import { buildPython } from './python-build.js';
import type { Runtime } from './runtime.js';

/** The Python bridge is shipped as source (.py files are not compiled into dist/). */
export function pythonBridgeFile(): string {
  return path.join(PACKAGE_ROOT, 'runtimes', 'python', 'bridge.py');
}

const EXTRA_ENV = { PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };

function generic(config: Config) {
  return {
    command: config.runtimes.python,
    args: ['-u', '-B', '-s', '-E', '-X', 'utf8', pythonBridgeFile()],
    env: { ...EXTRA_ENV, ...baseEnv(config) },
    // In the data folder until INIT moves it to the function's code (and where leak checks look).
    cwd: config.dataDir,
  };
}

/**
 * Python: the build installs requirements.txt and checks the entry compiles (python-build.ts);
 * `config.runtimes.python` runs the bridge, which loads the user's module (docs/runtimes/python.md).
 * -u unbuffered output, -B no .pyc files in the (read-only) code folder, -s no user site-packages,
 * -E no PYTHON* variables (PYTHONPATH, PYTHONHOME ...) from the function's env, -X utf8 UTF-8 I/O.
 * The bridge's own folder stays on sys.path as the script's folder (-I would drop it).
 */
export const python: Runtime<'python'> = {
  name: 'python',
  build: buildPython,
  launch(deployment, config) {
    const env = instanceEnv(deployment, config, EXTRA_ENV);
    return { ...generic(config), env, cwd: deployment.codeDir };
  },
  launchWarm: generic,
  interpreter: (config) => config.runtimes.python,
};
