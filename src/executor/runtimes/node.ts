import { runtimeFile } from '../../shared/paths.js';
import { instanceEnv, type RuntimeLauncher } from './launcher.js';

/** Node.js: the bridge loads the user's module (ESM, CommonJS, or compiled TypeScript). */
export const node: RuntimeLauncher = {
  launch(deployment, config) {
    return {
      command: config.runtimes.node,
      args: [
        '--experimental-detect-module',
        '--disable-warning=ExperimentalWarning',
        '--enable-source-maps',
        runtimeFile('node', 'bridge.js'),
      ],
      env: instanceEnv(deployment, config, { NODE_ENV: 'production' }),
      cwd: deployment.codeDir,
    };
  },
};
