import type { Config } from '../shared/config.js';
import { runtimeFile } from '../shared/paths.js';
import type { LaunchSpec } from '../sandbox/launch.js';
import type { Deployment } from './deployment.js';

/** How to start a bridge process for one runtime. */
export interface RuntimeLauncher {
  launch(deployment: Deployment, config: Config): LaunchSpec;
}

function baseEnv(config: Config): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    SKIFF_PROTOCOL_FD: '3',
    SKIFF_MAX_RESPONSE_BYTES: String(config.functions.maxResponseBytes),
  };
}

const node: RuntimeLauncher = {
  launch(deployment, config) {
    return {
      command: config.runtimes.node,
      args: [
        '--experimental-detect-module',
        '--disable-warning=ExperimentalWarning',
        '--enable-source-maps',
        runtimeFile('node', 'bridge.js'),
      ],
      env: { NODE_ENV: 'production', ...deployment.env, ...baseEnv(config) },
      cwd: deployment.codeDir,
    };
  },
};

/** Runtime name → launcher: one entry per language bridge. */
export const RUNTIMES = { node } satisfies Record<Deployment['runtime'], RuntimeLauncher>;
