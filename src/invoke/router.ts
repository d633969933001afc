import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Deployment } from '../executor/deployment.js';
import type { Executor } from '../executor/executor.js';
import { resolveScaling, type Scaling, type ScalingInput } from '../executor/scaling.js';
import { clampLimits, resolveLimits } from '../sandbox/limits.js';
import type { ArtifactStore } from '../store/artifacts.js';
import type { Registry, VersionRecord } from '../store/registry.js';
import type { Invocation, Result } from './types.js';

/**
 * A deploy asking for more than the ceilings is refused (deploy/ceilings.ts); a version stored before
 * the operator lowered them runs within them all the same.
 */
function withinCeiling(s: Scaling, maxInstances: number): Scaling {
  const max = Math.min(s.maxInstances, maxInstances);
  return { ...s, maxInstances: max, minInstances: Math.min(s.minInstances, max) };
}

export function toDeployment(
  v: VersionRecord,
  codeDir: string,
  config: Config,
  secrets: Record<string, string>,
  scalingOverride: ScalingInput | null,
): Deployment {
  return {
    function: v.function,
    version: v.version,
    hash: v.hash,
    runtime: v.spec.runtime,
    handler: v.entry,
    codeDir,
    env: v.spec.env,
    secrets,
    timeoutMs: v.spec.timeoutMs ?? config.functions.defaultTimeoutMs,
    command: v.spec.command ?? null,
    scaling: withinCeiling(
      resolveScaling(config.scaling, v.spec.scaling, scalingOverride),
      config.functions.maxInstancesCeiling,
    ),
    limits: clampLimits(resolveLimits(config.sandbox.limits, v.spec.limits), config.sandbox.maxLimits),
    network: v.spec.network ?? 'none',
    flavor: v.spec.flavor ?? 'native',
  };
}

/** Resolves a function name to its live deployment (cached) and hands the invocation to the executor. */
export class Router {
  private readonly live = new Map<string, Deployment>();

  constructor(
    private readonly registry: Registry,
    private readonly artifacts: ArtifactStore,
    private readonly executor: Executor,
    private readonly config: Config,
  ) {}

  resolve(name: string): Deployment {
    const cached = this.live.get(name);
    if (cached !== undefined) return cached;
    const fn = this.registry.getFunction(name);
    if (fn === undefined) {
      throw new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        `no function named ${JSON.stringify(name)}; deploy it first`,
      );
    }
    const version = fn.liveVersion === null ? undefined : this.registry.getVersion(name, fn.liveVersion);
    if (version === undefined) {
      throw new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        `function ${JSON.stringify(name)} has no live version (its builds failed); see \`skiff fn get ${name}\``,
      );
    }
    const deployment = toDeployment(
      version,
      this.artifacts.versionDir(name, version.version, version.hash),
      this.config,
      this.registry.secretValues(name),
      this.registry.getScaling(name),
    );
    this.live.set(name, deployment);
    return deployment;
  }

  invoke(inv: Invocation): Promise<Result> {
    return this.executor.invoke(this.resolve(inv.function), inv);
  }

  /** Switches the live deployment of a function atomically (or forgets it, when deleted). */
  setLive(name: string, deployment: Deployment | undefined): void {
    if (deployment === undefined) this.live.delete(name);
    else this.live.set(name, deployment);
  }
}
