/**
 * The control plane's one writer of functions: deploys, deletes, restarts and scaling changes, each
 * waiting for a deploy of the same function in progress (one deploy lock per function). The deploy
 * pipeline itself is in deploy-pipeline.ts.
 */
import { probes } from '../../shared/probes.js';
import { isDiskFull, retryOnDiskFull } from '../../shared/disk.js';
import { SkiffError } from '../../shared/errors.js';
import { parseScalingPatch, resolveScaling, validateName } from '../../shared/validate.js';
import type { Scaling, ScalingInput } from '../../model/scaling.js';
import { checkScalingCeiling } from './ceilings.js';
import {
  deployVersion,
  nameTaken,
  pruneVersions,
  type DeployerDeps,
  type DeployOutcome,
} from './deploy-pipeline.js';
import type { DeployRequest } from './deploy-spec.js';
import { rollbackVersion, type RollbackOutcome } from './rollback.js';
import { setTraffic, type TrafficOutcome } from './traffic.js';
import type { TrafficShare } from '../../store/registry.js';

// the types of the Deployer's own signatures, for its callers
export type { DeployOutcome } from './deploy-pipeline.js';
export type { DeployRequest } from './deploy-spec.js';

/**
 * Deploys (one at a time per function, see `deployVersion`), deletes, restarts and rescales functions;
 * each operation on a function waits for its deploy in progress.
 */
export class Deployer {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Grows when an operation (deploy, delete, restart ...) begins and ends: a quiet platform's stays put. */
  private begun = 0;

  constructor(private readonly deps: DeployerDeps) {}

  deploy(req: DeployRequest): Promise<DeployOutcome> {
    validateName(req.name);
    const external = this.deps.router.externals.get(req.name);
    if (external !== undefined) return Promise.reject(nameTaken(req.name, external.owner));
    return this.locked(req.name, async () => {
      const existed = this.deps.registry.getFunction(req.name) !== undefined;
      try {
        return await deployVersion(this.deps, req);
      } catch (err) {
        throw await this.forgetIfNeverWorked(req.name, existed, err);
      }
    });
  }

  /**
   * After a failed deploy: a function with no working version, made by this deploy (or left with no
   * working version and no secrets by an older platform), does not exist; its failed version's
   * output is in the error. Returns the error to throw.
   */
  private async forgetIfNeverWorked(name: string, existed: boolean, err: unknown): Promise<unknown> {
    const { registry } = this.deps;
    if (registry.getFunction(name) === undefined) return err;
    if (registry.listVersions(name).some((v) => v.status === 'ready')) return err;
    if (existed && registry.listSecrets(name).length > 0) return err;
    try {
      await this.removeNow(name);
    } catch (cause) {
      this.deps.logger.warn(
        { fn: name, err: cause },
        'could not remove a function whose first deploy failed',
      );
      return err;
    }
    if (err instanceof SkiffError) {
      return new SkiffError(
        err.code,
        `${err.message} (${name} had no working version, so it was not created)`,
        {
          ...(err.details === undefined ? {} : { details: err.details }),
          ...(err.retryAfterSec === undefined ? {} : { retryAfterSec: err.retryAfterSec }),
        },
      );
    }
    return err;
  }

  /** Makes an earlier ready version live again (the newest before the live one, or `to`). */
  rollback(name: string, to?: number): Promise<RollbackOutcome> {
    validateName(name);
    return this.locked(name, () => rollbackVersion(this.deps, name, to));
  }

  /** Splits the function's calls between versions (`shares`), or gives them all to its live one (null). */
  traffic(name: string, shares: TrafficShare[] | null): Promise<TrafficOutcome> {
    validateName(name);
    return this.locked(name, () => setTraffic(this.deps, name, shares));
  }

  /** For the memory reducer (src/shared/memory-reducer.ts): a counter of operations begun and ended. */
  activity(): number {
    return this.begun;
  }

  /** A deploy, delete or other operation on a function in progress. */
  busy(): boolean {
    return this.locks.size > 0;
  }

  /** Runs `work` once the function's deploy or delete in progress is done, holding its lock. */
  private locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.begun++;
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(work);
    this.locks.set(name, run);
    void run
      .finally(() => {
        this.begun++;
        if (this.locks.get(name) === run) this.locks.delete(name);
      })
      .catch(() => undefined);
    return run;
  }

  /**
   * Deletes a function: its record, then its instances, code, logs and state. Holds the function's
   * lock throughout, so a deploy under the same name waits for the files to be gone (else the
   * removal of the old files could take the new version's with them).
   */
  remove(name: string): Promise<boolean> {
    validateName(name);
    return this.locked(name, () => this.removeNow(name));
  }

  private async removeNow(name: string): Promise<boolean> {
    const { registry, router, executor, artifacts, logs, state } = this.deps;
    if (registry.getFunction(name) === undefined) return false;
    const removeFiles = async (): Promise<void> => {
      await executor.retire(name);
      await artifacts.removeFunction(name);
      await logs.remove(name);
      // a function made again under this name starts with no state
      await state.deleteAll(name);
    };
    try {
      // the row first, so that no call starts the function again; on a full disk the ballast goes
      retryOnDiskFull(() => registry.deleteFunction(name));
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // not even room for the delete: its code and logs go first to make room, then the row
      this.deps.logger.warn({ fn: name }, 'the disk is full: deleting the function files before its record');
      router.setLive(name, undefined);
      await removeFiles();
      registry.deleteFunction(name);
    }
    router.setLive(name, undefined);
    await removeFiles();
    // after its instances are gone: observers forget the function (shared/probes.ts)
    if (probes.functionDeleted.hasSubscribers) probes.functionDeleted.publish(name);
    this.deps.onChanged?.(name);
    return true;
  }

  /**
   * Restarts a function's instances after a change that is not a version (its secrets): the live
   * deployment is resolved again and the next call starts a fresh instance; in-flight calls finish.
   * Waits for a deploy in progress, so the version it makes live is restarted too.
   */
  async restart(name: string): Promise<void> {
    const { router, executor } = this.deps;
    await (this.locks.get(name) ?? Promise.resolve()).catch(() => undefined);
    router.setLive(name, undefined);
    void executor.retire(name);
    // The fresh instances of functions that keep some warm start now, with the new values.
    if (this.deps.registry.getFunction(name)?.liveVersion != null)
      for (const d of router.deployments(name)) executor.ensure(d);
  }

  /**
   * Changes a function's scaling override without a redeploy: `patch` fields set a value, null fields
   * fall back to skiff.json and the defaults; `null` as a whole removes the override. The running
   * versions take the new settings at once, and minInstances are started.
   */
  async setScaling(
    name: string,
    patch: Record<string, unknown> | null,
  ): Promise<{ scaling: Scaling; override: ScalingInput | null }> {
    validateName(name);
    const { config, registry, router, executor } = this.deps;
    await (this.locks.get(name) ?? Promise.resolve()).catch(() => undefined);
    const fn = registry.getFunction(name);
    if (fn === undefined) {
      throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
    }
    let override: ScalingInput | null = null;
    if (patch !== null) {
      const merged: Record<string, number> = { ...registry.getScaling(name) };
      for (const [key, value] of Object.entries(parseScalingPatch(patch, 'the scaling settings'))) {
        if (value === null) delete merged[key];
        else if (value !== undefined) merged[key] = value;
      }
      override = Object.keys(merged).length === 0 ? null : (merged as ScalingInput);
    }
    const live = fn.liveVersion === null ? undefined : registry.getVersion(name, fn.liveVersion);
    const scaling = resolveScaling(config.scaling, live?.spec.scaling, override);
    checkScalingCeiling(scaling, config.functions.maxInstancesCeiling);
    registry.setScaling(name, override);
    router.setLive(name, undefined);
    if (live !== undefined) {
      executor.rescale(name, scaling);
      for (const d of router.deployments(name)) executor.ensure(d);
    }
    return { scaling, override };
  }

  /**
   * Keeps at most `functions.maxVersions` versions of a function (see `pruneVersions`), once its deploy
   * in progress is done, holding its lock: after the start, for a registry from before the cap.
   */
  pruneLocked(name: string): Promise<void> {
    return this.locked(name, () => pruneVersions(this.deps, name));
  }
}
