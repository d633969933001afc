import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Deployment } from '../model/deployment.js';
import type { Flavors } from '../model/flavor.js';
import type { Executor } from '../executor/executor.js';
import type { ArtifactStore } from '../store/artifacts.js';
import type { Registry } from '../store/registry.js';
import { toDeployment } from '../executor/deployment.js';
import type { Invocation, Result } from '../model/invocation.js';

/** Resolves a function name to its live deployment (cached) and hands the invocation to the executor. */
export class Router {
  private readonly current = new Map<string, Deployment>();

  constructor(
    private readonly registry: Registry,
    private readonly artifacts: ArtifactStore,
    private readonly executor: Executor,
    private readonly config: Config,
    /** The flavors compiled in (a flavor's rules go into the deployment). */
    private readonly flavors: Flavors,
  ) {}

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
    return this.executor.invoke(this.resolve(inv.function), inv);
  }

  /** Switches the live deployment of a function atomically (or forgets it, when deleted). */
  setLive(name: string, deployment: Deployment | undefined): void {
    if (deployment === undefined) this.current.delete(name);
    else this.current.set(name, deployment);
  }
}
