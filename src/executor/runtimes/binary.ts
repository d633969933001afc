import { runtimeFile } from '../../shared/paths.js';
import { instanceEnv, type RuntimeLauncher } from './launcher.js';

/** Binary: the exec bridge runs the function's executable once per invocation (docs/runtimes/binary.md). */
export const binary: RuntimeLauncher = {
  launch(deployment, config) {
    return {
      command: config.runtimes.node,
      args: [
        '--disable-warning=ExperimentalWarning',
        '--enable-source-maps',
        runtimeFile('exec', 'bridge.js'),
      ],
      env: instanceEnv(deployment, config),
      cwd: deployment.codeDir,
    };
  },
};
