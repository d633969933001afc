/**
 * A traffic split (`skiff fn traffic`): two to four ready versions of a function share its calls by
 * whole percents. Every version of the split is started first, as for a deploy, so a version that
 * does not start never gets a call; then the split is recorded and goes live at once. A split of one
 * version at 100 %, or a clear, makes one version take every call again. A deploy or a rollback clears
 * the split (docs/architecture.md, "Traffic split").
 */
import { SkiffError } from '../../shared/errors.js';
import { toDeployment } from '../../executor/deployment.js';
import type { Deployment } from '../../model/deployment.js';
import type { TrafficShare } from '../../store/registry.js';
import type { DeployerDeps } from './deploy-pipeline.js';

/** The most versions a split has: each keeps instances of its own, so few. */
export const MAX_SPLIT_VERSIONS = 4;

export interface TrafficOutcome {
  /** The live version: the split's largest share (the newest of equal ones), or the only version. */
  live: number;
  /** The split, or null when the live version takes every call. */
  split: TrafficShare[] | null;
}

const invalid = (message: string): SkiffError => new SkiffError('SKIFF_E_INVALID_TRAFFIC', message);

/** The shares' own rules (whole percents that sum to 100, each version once, at most four). */
export function checkShares(shares: TrafficShare[]): void {
  if (shares.length === 0) throw invalid('give at least one version and its percent, e.g. 3=90 4=10');
  if (shares.length > MAX_SPLIT_VERSIONS) {
    throw invalid(`a split has at most ${MAX_SPLIT_VERSIONS} versions, not ${shares.length}`);
  }
  const seen = new Set<number>();
  for (const { version, percent } of shares) {
    if (seen.has(version)) throw invalid(`version ${version} is named twice; give each version once`);
    seen.add(version);
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
      throw invalid(`the share of version ${version} is ${percent}: give a whole percent from 1 to 100`);
    }
  }
  const total = shares.reduce((sum, s) => sum + s.percent, 0);
  if (total !== 100) throw invalid(`the percents sum to ${total}, not 100`);
}

/** The version that is live under a split: the largest share, the newest of equal ones. */
function liveOf(shares: TrafficShare[]): number {
  const [top] = [...shares].sort((a, b) => b.percent - a.percent || b.version - a.version);
  return (top as TrafficShare).version;
}

/**
 * Sets the function's split (`shares`), or clears it (`null`: its live version takes every call).
 * Called under the function's deploy lock.
 */
export async function setTraffic(
  deps: DeployerDeps,
  name: string,
  shares: TrafficShare[] | null,
): Promise<TrafficOutcome> {
  const { config, registry, artifacts, executor, router, logs } = deps;
  const fn = registry.getFunction(name);
  if (fn === undefined) {
    throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
  }
  if (shares === null && fn.liveVersion === null) {
    throw invalid(`${name} has no live version; deploy it first`);
  }
  const wanted = shares ?? [{ version: fn.liveVersion as number, percent: 100 }];
  checkShares(wanted);
  const records = wanted.map(({ version }) => {
    const record = registry.getVersion(name, version);
    if (record === undefined) {
      throw new SkiffError(
        'SKIFF_E_NOT_FOUND',
        `${name} has no version ${version} (versions beyond functions.maxVersions are deleted); \`skiff fn get ${name}\` lists its versions`,
      );
    }
    if (record.status !== 'ready') {
      throw invalid(`version ${version} of ${name} failed to build: it cannot take calls`);
    }
    return record;
  });
  const access = JSON.stringify(records[0]?.spec.access ?? {});
  const other = records.find((r) => JSON.stringify(r.spec.access ?? {}) !== access);
  if (other !== undefined) {
    // who may reach the function must not depend on the draw
    throw invalid(
      `versions ${records[0]?.version} and ${other.version} of ${name} differ in "access" (callers, private): a split needs the same access in every version`,
    );
  }
  const secrets = registry.secretValues(name);
  const scaling = registry.getScaling(name);
  const deployments = new Map<number, Deployment>();
  for (const record of records) {
    const deployment = toDeployment(
      record,
      artifacts.versionDir(name, record.version, record.hash),
      config,
      secrets,
      scaling,
      deps.flavors,
    );
    deployments.set(record.version, deployment);
  }
  // every version started and ready before any of them takes its share
  await Promise.all([...deployments.values()].map((d) => executor.prepare(d)));
  const live = liveOf(wanted);
  const split = wanted.length === 1 ? null : [...wanted].sort((a, b) => a.version - b.version);
  if (!registry.setTraffic(name, live, split)) {
    throw new SkiffError('SKIFF_E_CONFLICT', `a version of ${name} changed while the split started; retry`);
  }
  const liveDeployment = deployments.get(live) as Deployment;
  router.setSplit(
    name,
    liveDeployment,
    split?.map((s) => ({ deployment: deployments.get(s.version) as Deployment, percent: s.percent })) ?? null,
  );
  void executor.retire(name, [...deployments.keys()]);
  for (const d of deployments.values()) executor.ensure(d);
  logs.append(name, {
    stream: 'build',
    level: 'info',
    message:
      split === null
        ? `traffic: version ${live} takes every call`
        : `traffic: ${split.map((s) => `version ${s.version} ${s.percent}%`).join(', ')}`,
    version: live,
  });
  deps.onChanged?.(name);
  return { live, split };
}
