import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../shared/config.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { BUILD_DIR } from '../../sandbox/build-sandbox.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { startBuildProxy, type BuildProxy } from './build-proxy.js';
import { BuildLog } from './build-log.js';
import { OutputLines } from './output-lines.js';
import type { BuildRunner, CommandResult } from '../../languages/build-runner.js';

const MAX_OUTPUT = 1024 * 1024;
const FORWARDER = path.join(PACKAGE_ROOT, 'runtimes', 'sandbox', 'build-proxy.mjs');

/** Environment of a sandboxed step: nothing of the platform's own. */
const SANDBOX_ENV: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
  npm_config_cache: '/tmp/.npm',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

/** Environment for unsandboxed build tools: the platform's own, minus what an enclosing `npm run` injected. */
export function buildEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.toLowerCase().startsWith('npm_') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return env;
}

/** Spawns a process in its own process group, capturing output (bounded); the group dies at the timeout. */
function spawnBounded(
  launch: { command: string; args: string[]; env: Record<string, string>; cwd: string },
  timeoutMs: number,
  onOutput?: (text: string) => void,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // the start and the end of what it prints (the end is where the error is)
    const captured = new BuildLog(MAX_OUTPUT);
    let timedOut = false;
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      captured.append(text);
      onOutput?.(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: `${captured.text()}${err.message}\n`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // a step's strays (a daemon that kept no pipe) go with it
      kill();
      resolve({ code, signal, output: captured.text(), timedOut });
    });
  });
}

/**
 * The runner of one build: every step in the sandbox (README, "Builds") with the build's limits,
 * its work folder writable and nothing else, the build proxy for steps that install from a registry,
 * all steps together within `build.timeoutMs`. A step with a `label` is told to `onStep` as it
 * starts; one with `logOutput` has its output lines logged as they come.
 */
export function createBuildRunner(
  sandbox: Sandbox,
  workDir: string,
  config: Config,
  log: (line: string) => void,
  onStep?: (label: string) => void,
): BuildRunner {
  const isolated = sandbox.kind === 'bubblewrap';
  const deadline = Date.now() + config.build.timeoutMs;
  return {
    workDir,
    dir: isolated ? BUILD_DIR : workDir,
    isolated,
    async run(step) {
      const timeoutMs = Math.min(deadline - Date.now(), step.timeoutMs ?? Infinity);
      if (timeoutMs <= 0) return { code: null, signal: null, output: '', timedOut: true };
      const proxied = isolated && step.registry === true && config.build.network === 'registry';
      const readOnly = [...(step.readOnly ?? []), ...(step.bare === true ? [] : config.build.readOnlyPaths)];
      const wrapped = sandbox.wrapBuild({
        id: randomUUID(),
        workDir,
        limits: config.build.limits,
        readOnly: [...new Set(readOnly.filter((p) => path.isAbsolute(p) && existsSync(p)))],
        bare: step.bare === true,
        proxy: proxied,
        build: (dir, socket) => ({
          command: socket === undefined ? step.command : config.runtimes.node,
          args: socket === undefined ? step.args : [FORWARDER, socket, '--', step.command, ...step.args],
          env: { ...(isolated ? SANDBOX_ENV : buildEnv()), ...step.env },
          cwd: dir,
        }),
      });
      let proxy: BuildProxy | undefined;
      try {
        if (wrapped.proxySocket !== undefined) {
          proxy = await startBuildProxy(wrapped.proxySocket, {
            policy: { allowPrivate: config.build.privateRegistries },
            note: log,
          });
        }
        await wrapped.prepare();
        if (step.label !== undefined) onStep?.(step.label);
        const lines = step.logOutput === true ? new OutputLines(log) : undefined;
        const onOutput =
          lines === undefined && step.onOutput === undefined
            ? undefined
            : (text: string): void => {
                lines?.push(text);
                step.onOutput?.(text);
              };
        try {
          return await spawnBounded(wrapped.launch, timeoutMs, onOutput);
        } finally {
          lines?.flush();
        }
      } finally {
        await proxy?.close();
        await wrapped.release();
      }
    },
    finish: () => sandbox.reclaimBuild(workDir),
  };
}
