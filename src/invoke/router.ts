import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Deployment } from '../model/deployment.js';
import type { Flavors } from '../model/flavor.js';
import type { Executor } from '../executor/executor.js';
import type { ArtifactStore } from '../store/artifacts.js';
import type { Registry } from '../store/registry.js';
import { toDeployment } from '../executor/deployment.js';
import type { Invocation, Result } from '../model/invocation.js';
import { ExternalTargets } from './external-targets.js';

/** What the rails of a call, a cast or an outside request need to know of a target. */
export type TargetAccess = Pick<Deployment, 'callers' | 'private'>;

/**
 * Resolves a function name to its live deployment (cached) and hands the invocation to the executor;
 * a name a dialect serves (an external target) goes to its owner instead.
 */
export class Router {
  private readonly current = new Map<string, Deployment>();

  constructor(
    private readonly registry: Registry,
    private readonly artifacts: ArtifactStore,
    private readonly executor: Executor,
    private readonly config: Config,
    /** The flavors compiled in (a flavor's rules go into the deployment). */
    private readonly flavors: Flavors,
    /** Names dialects serve themselves, asked before the registry. */
    readonly externals: ExternalTargets = new ExternalTargets(),
  ) {}

  /** Who may call or cast to `name` and whether it is private: an external target's, or the live deployment's. */
  access(name: string): TargetAccess {
    return this.externals.get(name) ?? this.resolve(name);
  }

  /** When the target of this name was made (epoch ms), or undefined when there is none. */
  createdAt(name: string): number | undefined {
    const external = this.externals.get(name);
    if (external !== undefined) return external.createdAt;
    const fn = this.registry.getFunction(name);
    return fn === undefined ? undefined : Date.parse(fn.createdAt);
  }

  /** Whether a function or an external target has this name. */
  exists(name: string): boolean {
    return this.externals.has(name) || this.registry.getFunction(name) !== undefined;
  }

  resolve(name: string): Deployment {
    const cached = this.current.get(name);
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
      this.flavors,
    );
    this.current.set(name, deployment);
    return deployment;
  }

  invoke(inv: Invocation): Promise<Result> {
    const external = this.externals.get(inv.function);
    if (external !== undefined) return external.invoke(inv);
    return this.executor.invoke(this.resolve(inv.function), inv);
  }

  /** Switches the live deployment of a function atomically (or forgets it, when deleted). */
  setLive(name: string, deployment: Deployment | undefined): void {
    if (deployment === undefined) this.current.delete(name);
    else this.current.set(name, deployment);
  }
}
