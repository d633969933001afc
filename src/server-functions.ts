/**
 * What the composition root (server.ts) does per function, kept cheap with many functions: the live
 * functions' specs read once for every trigger (then one function per change), and the work at start
 * that needs no listener to wait for it (minimum instances, pruning old versions) done after listening.
 */
import type { Deployer } from './control/deploy/deployer.js';
import type { Deployment } from './model/deployment.js';
import type { Executor } from './executor/executor.js';
import type { Router } from './invoke/router.js';
import type { Config } from './shared/config.js';
import type { Logger } from './shared/logger.js';
import { resolveScaling } from './shared/validate.js';
import type { Registry } from './store/registry.js';
import type { LiveFunction } from './triggers/types.js';

/**
 * Every function with a live version and its spec, for the triggers' rules: read from the registry at
 * the first ask, then kept up to date one function at a time (`changed` after a deploy made a version
 * live and after a delete), so that a deploy does not read every other function again.
 */
export class LiveFunctions {
  private byName: Map<string, LiveFunction> | undefined;
  private list: LiveFunction[] | undefined;

  constructor(private readonly registry: Pick<Registry, 'liveVersions' | 'getFunction' | 'getVersion'>) {}

  /** In the registry's order (by name). */
  all(): LiveFunction[] {
    if (this.byName === undefined) {
      // one query for all of them
      this.byName = new Map(
        this.registry
          .liveVersions()
          .map((v) => [v.function, { name: v.function, version: v.version, spec: v.spec }]),
      );
    }
    this.list ??= [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...this.list];
  }

  /** The function's live version changed, or it was deleted. */
  changed(name: string): void {
    if (this.byName === undefined) return;
    const live = this.read(name, this.registry.getFunction(name)?.liveVersion ?? null);
    if (live === undefined) this.byName.delete(name);
    else this.byName.set(name, live);
    this.list = undefined;
  }

  private read(name: string, liveVersion: number | null): LiveFunction | undefined {
    const v = liveVersion === null ? undefined : this.registry.getVersion(name, liveVersion);
    return v === undefined ? undefined : { name, version: v.version, spec: v.spec };
  }
}

export interface AfterStartDeps {
  config: Config;
  registry: Registry;
  router: Router;
  executor: Executor;
  deployer: Deployer;
  live: LiveFunctions;
  logger: Logger;
  /** False once the platform stops: the rest is left undone. */
  running: () => boolean;
  /** Told the deployments whose minimum instances are being started (the platform's readiness waits for them). */
  onWarming?: (deployments: Deployment[]) => void;
}

/**
 * Once the platform listens: functions that keep instances warm (minInstances > 0) get them now, not
 * at their first call; a registry from before functions.maxVersions (or after it was lowered) is
 * brought within it, each function under its deploy lock. Only functions with minInstances resolve a
 * deployment (the others' stay unresolved until their first call).
 */
export async function afterStart(deps: AfterStartDeps): Promise<void> {
  const { config, registry, router, executor, deployer, logger } = deps;
  // the start returns first
  await new Promise((resolve) => setImmediate(resolve));
  const warming: Deployment[] = [];
  for (const fn of deps.live.all()) {
    if (!deps.running()) return;
    try {
      const scaling = resolveScaling(config.scaling, fn.spec.scaling, registry.getScaling(fn.name));
      if (scaling.minInstances > 0) {
        for (const d of router.deployments(fn.name)) {
          executor.ensure(d);
          warming.push(d);
        }
      }
    } catch (err) {
      logger.warn({ err, fn: fn.name }, 'cannot start the minimum instances of this function');
    }
  }
  deps.onWarming?.(warming);
  for (const fn of registry.listFunctions()) {
    if (!deps.running()) return;
    try {
      await deployer.pruneLocked(fn.name);
    } catch (err) {
      logger.warn({ err, fn: fn.name }, 'could not delete old versions');
    }
  }
}
