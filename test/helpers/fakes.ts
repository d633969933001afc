/**
 * Fakes of the platform's dependencies for fast tests: an executor that starts nothing and records what
 * it is told, and function specs and version rows as a finished build would record them.
 */
import type { Executor, FunctionStatus } from '../../src/executor/executor.js';
import type { Deployment } from '../../src/model/deployment.js';
import type { Invocation, Result } from '../../src/model/invocation.js';
import type { Scaling } from '../../src/model/scaling.js';
import type { FunctionSpec } from '../../src/model/spec.js';
import type { NewVersion } from '../../src/store/registry.js';

/** What the fake executor was asked to do, in order (`ensure f@1`, `rescale f`, `retire f`). */
export type ExecutorCall = string;

const IDLE: FunctionStatus = {
  instances: [],
  queued: 0,
  inFlight: 0,
  coldStarts: 0,
  starts: 0,
  failures: 0,
  backoffUntil: null,
  recentErrors: [],
};

/**
 * An executor that starts nothing: it records the calls (the control routes', the Deployer's, the
 * Router's) and answers an invocation with `<function>@<version>`.
 */
export function fakeExecutor(calls: ExecutorCall[] = []): Executor & { calls: ExecutorCall[] } {
  const fake = {
    calls,
    status: (): FunctionStatus => IDLE,
    warmCounts: () => ({ node: 1 }),
    budgetStatus: () => ({ memoryMb: 1024, instances: 8, usedMemoryMb: 256, usedInstances: 1, waiting: 0 }),
    ensure: (d: Deployment) => void calls.push(`ensure ${d.function}@${d.version}`),
    rescale: (name: string, s: Scaling) => void calls.push(`rescale ${name} max=${s.maxInstances}`),
    retire: (name: string) => {
      calls.push(`retire ${name}`);
      return Promise.resolve();
    },
    invoke: (d: Deployment, inv: Invocation): Promise<Result> => {
      calls.push(`invoke ${d.function}@${d.version} ${inv.id}`);
      return Promise.resolve({ status: 200, headers: [], body: Buffer.from(`${d.function}@${d.version}`) });
    },
  };
  return fake as unknown as Executor & { calls: ExecutorCall[] };
}

export function specOf(name: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'node',
    handler: null,
    description: '',
    env: {},
    timeoutMs: null,
    command: null,
    ...extra,
  } as FunctionSpec;
}

/** A version row as a finished build records it: ready (live) unless `failed`. */
export function versionOf(
  name: string,
  options: { failed?: boolean; spec?: Partial<FunctionSpec>; hash?: string } = {},
): NewVersion {
  const failed = options.failed === true;
  return {
    hash: options.hash ?? 'abcdef0123456789',
    status: failed ? 'failed' : 'ready',
    spec: specOf(name, options.spec),
    entry: 'index.js',
    buildLog: failed ? 'the build failed' : 'built',
    buildMs: 5,
  };
}
