/**
 * What the composition root (server.ts) does per function at start, kept cheap with many functions:
 * the live functions' specs read once for every trigger (again only after a change), and the work that
 * needs no listener to wait for it (minimum instances, pruning old versions) done after listening.
 */
import type { EventEmitter } from 'node:events';
import type { Deployer } from './control/deploy/deployer.js';
import type { Executor } from './executor/executor.js';
import type { Router } from './invoke/router.js';
import type { Config } from './shared/config.js';
import type { Logger } from './shared/logger.js';
import { resolveScaling } from './shared/validate.js';
import type { Registry } from './store/registry.js';
import type { LiveFunction } from './triggers/types.js';

/**
 * Every function with a live version and its spec, read from the registry at the first ask and again
 * after each change (`changes` emits `changed` after a deploy made a version live and after a delete).
 * Call it before any trigger listens to `changes`, so that they read the new list.
 */
export function liveFunctionsView(
  registry: Registry,
  changes: EventEmitter<{ changed: [] }>,
): () => LiveFunction[] {
  let cached: LiveFunction[] | undefined;
  changes.on('changed', () => (cached = undefined));
  return () => {
    cached ??= registry.listFunctions().flatMap((fn) => {
      const v = fn.liveVersion === null ? undefined : registry.getVersion(fn.name, fn.liveVersion);
      return v === undefined ? [] : [{ name: fn.name, version: v.version, spec: v.spec }];
    });
    return [...cached];
  };
}

export interface AfterStartDeps {
  config: Config;
  registry: Registry;
  router: Router;
  executor: Executor;
  deployer: Deployer;
  liveFunctions: () => LiveFunction[];
  logger: Logger;
  /** False once the platform stops: the rest is left undone. */
  running: () => boolean;
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
  for (const fn of deps.liveFunctions()) {
    if (!deps.running()) return;
    try {
      const scaling = resolveScaling(config.scaling, fn.spec.scaling, registry.getScaling(fn.name));
      if (scaling.minInstances > 0) executor.ensure(router.resolve(fn.name));
    } catch (err) {
      logger.warn({ err, fn: fn.name }, 'cannot start the minimum instances of this function');
    }
  }
  for (const fn of registry.listFunctions()) {
    if (!deps.running()) return;
    try {
      await deployer.pruneLocked(fn.name);
    } catch (err) {
      logger.warn({ err, fn: fn.name }, 'could not delete old versions');
    }
  }
}
