/**
 * A rollback: an earlier ready version becomes live again, without a build. Its code is still on disk
 * (versions are kept up to `functions.maxVersions`); an instance of it is started first, as for a
 * deploy, so a version that no longer starts (a secret it needed is gone) never goes live.
 */
import { SkiffError } from '../../shared/errors.js';
import { toDeployment } from '../../executor/deployment.js';
import type { VersionRecord } from '../../store/registry.js';
import type { DeployerDeps } from './deploy-pipeline.js';

export interface RollbackOutcome {
  /** The version live before, or null. */
  from: number | null;
  version: VersionRecord;
}

export async function rollbackVersion(
  deps: DeployerDeps,
  name: string,
  to?: number,
): Promise<RollbackOutcome> {
  const { config, registry, artifacts, executor, router, logs } = deps;
  const fn = registry.getFunction(name);
  if (fn === undefined) {
    throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
  }
  const from = fn.liveVersion;
  const versions = registry.listVersions(name);
  const target =
    to ??
    versions
      .filter((v) => v.status === 'ready' && (from === null || v.version < from))
      .map((v) => v.version)
      .sort((a, b) => b - a)[0];
  if (target === undefined) {
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `${name} has no ready version before ${from === null ? 'now' : `version ${from}`} to roll back to; \`skiff fn get ${name}\` lists its versions`,
    );
  }
  const record = registry.getVersion(name, target);
  if (record === undefined) {
    throw new SkiffError(
      'SKIFF_E_NOT_FOUND',
      `${name} has no version ${target} (versions beyond functions.maxVersions are deleted); \`skiff fn get ${name}\` lists its versions`,
    );
  }
  if (record.status !== 'ready') {
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `version ${target} of ${name} failed to build: it cannot go live`,
    );
  }
  // the live version already, with no split to clear
  if (target === from && registry.getTraffic(name) === null) return { from, version: record };
  deps.hostClaims?.check(name, record.spec.routes);
  const deployment = toDeployment(
    record,
    artifacts.versionDir(name, target, record.hash),
    config,
    registry.secretValues(name),
    registry.getScaling(name),
    deps.flavors,
  );
  await executor.prepare(deployment);
  // its hosts may have gone to another function since it was live, or while it started
  deps.hostClaims?.check(name, record.spec.routes);
  if (!registry.setLiveVersion(name, target)) {
    throw new SkiffError('SKIFF_E_CONFLICT', `version ${target} of ${name} changed while it started; retry`);
  }
  router.setLive(name, deployment);
  void executor.retire(name, [target]);
  executor.ensure(deployment);
  logs.append(name, {
    stream: 'build',
    level: 'info',
    message: `rolled back to version ${target} (version ${from ?? 'none'} was live)`,
    version: target,
  });
  deps.onChanged?.(name);
  return { from, version: record };
}
