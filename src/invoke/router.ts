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
import { incomingTrace, startSpan } from '../shared/trace-context.js';

/** What the rails of a call, a cast or an outside request need to know of a target. */
export type TargetAccess = Pick<Deployment, 'callers' | 'private'>;

/** A deployment of a traffic split and its share of the calls (whole percent). */
export interface WeightedDeployment {
  deployment: Deployment;
  percent: number;
}

/**
 * Resolves a function name to its live deployment (cached) and hands the invocation to the executor;
 * a name a dialect serves (an external target) goes to its owner instead. A function with a traffic
 * split (`skiff fn traffic`) has each invocation served by one of its versions, picked at random by
 * their shares: the one place every trigger's invocation gets its version.
 */
export class Router {
  private readonly current = new Map<string, Deployment>();
  /** Resolved splits by function name; null: the function has none (its live version takes all). */
  private readonly splits = new Map<string, WeightedDeployment[] | null>();

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
    const deployment = this.deploymentOf(name, version.version);
    this.current.set(name, deployment);
    return deployment;
  }

  /** The deployment of one ready version of a function (not cached). */
  private deploymentOf(name: string, versionNumber: number): Deployment {
    const version = this.registry.getVersion(name, versionNumber);
    if (version === undefined || version.status !== 'ready') {
      throw new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        `version ${versionNumber} of ${JSON.stringify(name)} is gone; see \`skiff fn get ${name}\``,
      );
    }
    return toDeployment(
      version,
      this.artifacts.versionDir(name, version.version, version.hash),
      this.config,
      this.registry.secretValues(name),
      this.registry.getScaling(name),
      this.flavors,
    );
  }

  /** The function's traffic split, resolved (cached), or null when its live version takes every call. */
  split(name: string): WeightedDeployment[] | null {
    const cached = this.splits.get(name);
    if (cached !== undefined) return cached;
    // an unknown name throws here, before the registry is asked for its split (or anything is cached)
    const live = this.resolve(name);
    const shares = this.registry.getTraffic(name);
    const split =
      shares === null
        ? null
        : shares.map(({ version, percent }) => ({
            deployment: version === live.version ? live : this.deploymentOf(name, version),
            percent,
          }));
    this.splits.set(name, split);
    return split;
  }

  /** Every deployment that serves calls of the function: its split's, or its live one. */
  deployments(name: string): Deployment[] {
    return this.split(name)?.map((s) => s.deployment) ?? [this.resolve(name)];
  }

  /** The deployment that serves one invocation: the live one, or one of the split by its share. */
  pick(name: string): Deployment {
    const split = this.split(name);
    if (split === null) return this.resolve(name);
    let roll = Math.random() * 100;
    for (const share of split) {
      roll -= share.percent;
      if (roll < 0) return share.deployment;
    }
    return split[split.length - 1]?.deployment ?? this.resolve(name);
  }

  /**
   * Every invocation gets its place in a trace here, the one door of every trigger: one that has none
   * (a trigger's) continues its `traceparent` header, or starts a new trace.
   */
  invoke(inv: Invocation): Promise<Result> {
    inv.trace ??= startSpan(incomingTrace(inv.headers));
    const external = this.externals.get(inv.function);
    if (external !== undefined) return external.invoke(inv);
    return this.executor.invoke(this.pick(inv.function), inv);
  }

  /**
   * Switches the live deployment of a function atomically (or forgets it, when deleted or changed);
   * its split is read again from the registry (a new live version has none).
   */
  setLive(name: string, deployment: Deployment | undefined): void {
    this.splits.delete(name);
    if (deployment === undefined) this.current.delete(name);
    else this.current.set(name, deployment);
  }

  /** Switches a function's live deployment and its split (null: none) atomically. */
  setSplit(name: string, live: Deployment, split: WeightedDeployment[] | null): void {
    this.current.set(name, live);
    this.splits.set(name, split);
  }
}
