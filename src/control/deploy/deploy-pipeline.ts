/**
 * The deploy pipeline of one version: extract into staging, resolve and check the spec, build, start
 * the new version, then switch the live version atomically while the old one drains. A failed build is
 * recorded and the previous version keeps serving. Also the pruning of old versions after a deploy.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../../shared/config.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Executor } from '../../executor/executor.js';
import { toDeployment } from '../../executor/deployment.js';
import type { Router } from '../../invoke/router.js';
import { extractArchive } from '../../store/archive/index.js';
import { hashTree, type ArtifactStore } from '../../store/artifacts.js';
import type { FileLogStore } from '../../store/file-logs.js';
import type { Registry, VersionRecord } from '../../store/registry.js';
import type { FunctionSpec } from '../../model/spec.js';
import { buildHandler, type Flavor, type Flavors } from '../../model/flavor.js';
import type { FunctionState } from '../../model/state.js';
import { checkFlavor, resolveScaling } from '../../shared/validate.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { BuildLog } from './build-log.js';
import { probes, type BuildEnd } from '../../shared/probes.js';
import type { HostClaims } from './host-claims.js';
import { uploadTooLarge } from './upload-limit.js';
import { checkLimitCeilings, checkScalingCeiling } from './ceilings.js';
import { readSpecFile, resolveSpec, type DeployRequest } from './deploy-spec.js';
import { createBuildRunner } from './run-command.js';
import { runtimeOf } from '../../languages/index.js';
import { inferRuntime, RUNTIME_INFERRED, type InferredRuntime } from '../../languages/infer-runtime.js';

export interface DeployOutcome {
  created: boolean;
  version: VersionRecord;
}

export interface DeployerDeps {
  config: Config;
  registry: Registry;
  artifacts: ArtifactStore;
  executor: Executor;
  router: Router;
  logs: FileLogStore;
  /** Per-function state: deleted with its function. */
  state: FunctionState;
  logger: Logger;
  /** The flavors compiled in: a deploy of another is refused. */
  flavors: Flavors;
  /** The isolation of instances; builds run in it too. */
  sandbox: Sandbox;
  /** False when writing this many bytes would eat into the disk's reserve (then 507). */
  diskRoom?: (bytes: number) => boolean;
  /** Told after a deploy made a new version live, and after a delete (triggers reload their rules). */
  onChanged?: (name: string) => void;
  /** Refuses a version whose skiff.json `routes` take a host another function holds (host-claims.ts). */
  hostClaims?: HostClaims;
}

/** Refuses environment variables whose names the flavor's platform keeps for itself. */
function checkReservedEnv(env: Record<string, string>, flavor: Flavor): void {
  const prefix = flavor.reservedEnvPrefix;
  if (prefix === undefined) return;
  const reserved = Object.keys(env).filter((name) => name.startsWith(prefix));
  if (reserved.length > 0) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `environment variable ${reserved.join(', ')}: names starting ${prefix} are reserved by the ${flavor.name} flavor; rename ${reserved.length === 1 ? 'it' : 'them'}`,
    );
  }
}

/** Characters of a failure's message kept in the 422's message (its build log holds more). */
const MESSAGE_MAX_CHARS = 2048;

/** Deploys one version of `req.name`; the caller holds the function's deploy lock. */
export async function deployVersion(deps: DeployerDeps, req: DeployRequest): Promise<DeployOutcome> {
  const { config, registry, artifacts, executor, router, logs } = deps;
  const existing = registry.getFunction(req.name);
  if (existing === undefined && req.mode === 'new-version') {
    throw new SkiffError(
      'SKIFF_E_FUNCTION_NOT_FOUND',
      `no function named ${JSON.stringify(req.name)}; create it with PUT first`,
    );
  }
  if (req.archive.length > config.build.maxUploadBytes) {
    throw uploadTooLarge(req.archive.length, config.build.maxUploadBytes);
  }
  // the unpacked code is not known yet: the archive's size stands for it, twice
  if (deps.diskRoom?.(2 * req.archive.length) === false) {
    throw new SkiffError(
      'SKIFF_E_DISK_FULL',
      "the data directory's disk is almost full (below disk.reserveBytes free); delete functions or free space",
    );
  }
  const started = Date.now();
  const staging = await artifacts.createStaging();
  const buildLog = new BuildLog();
  const progress = req.progress;
  const log = (line: string): void => {
    buildLog.add(line);
    progress?.output(line);
  };
  const step = (name: string): void => progress?.step(name);
  let spec: FunctionSpec | undefined;
  let hash = '';
  try {
    step('unpacking');
    const stats = await extractArchive(req.archive, staging, {
      maxPackedBytes: config.build.maxUploadBytes,
    });
    log(`extracted ${stats.files} files (${stats.bytes} bytes)`);
    const fileSpec = req.specFile === false ? {} : await readSpecFile(staging);
    let inferred: InferredRuntime | undefined;
    if (req.specFile !== false && req.runtime === undefined && fileSpec.runtime === undefined) {
      inferred = await inferRuntime(staging, req.handler ?? fileSpec.handler ?? null);
      log(
        `${RUNTIME_INFERRED} ${inferred.runtime}, from ${inferred.from} (set "runtime" in skiff.json to choose)`,
      );
    }
    spec = resolveSpec(req, fileSpec, inferred?.runtime);
    // first before the build, to fail fast; again as the version goes live (another deploy may take it)
    deps.hostClaims?.check(req.name, spec.routes);
    if (spec.flavor !== undefined) {
      const flavor = checkFlavor(
        spec.flavor,
        deps.flavors,
        req.flavor === undefined ? 'skiff.json' : 'a deploy parameter',
      );
      checkReservedEnv(spec.env, flavor);
    }
    checkLimitCeilings(spec.limits, config.sandbox.maxLimits);
    checkScalingCeiling(
      resolveScaling(config.scaling, spec.scaling, registry.getScaling(req.name)),
      config.functions.maxInstancesCeiling,
    );
    hash = await hashTree(staging);
  } catch (err) {
    await artifacts.discard(staging);
    throw err;
  }
  let version: number;
  try {
    version = registry.nextVersion(req.name);
  } catch (err) {
    await artifacts.discard(staging);
    throw err;
  }
  let entry = '';
  try {
    step('building');
    const runner = createBuildRunner(deps.sandbox, staging, config, log, step);
    const flavor = deps.flavors.get(spec.flavor ?? 'native');
    const handler = buildHandler(flavor, spec.runtime, spec.handler);
    try {
      entry = await runtimeOf(spec.runtime).build({
        dir: staging,
        runner,
        spec,
        handler,
        config,
        log,
        installDependencies: req.installDependencies !== false,
      });
    } finally {
      await runner.finish();
    }
    const codeDir = await artifacts.commit(staging, req.name, version, hash);
    const record = { hash, status: 'ready' as const, spec, entry, buildLog: '', buildMs: 0 };
    const deployment = toDeployment(
      { ...record, function: req.name, version, createdAt: '' },
      codeDir,
      config,
      registry.secretValues(req.name),
      registry.getScaling(req.name),
      deps.flavors,
    );
    const startAt = Date.now();
    step('starting the new version');
    await executor.prepare(deployment);
    log(`instance ready in ${Date.now() - startAt} ms`);
    const buildMs = Date.now() - started;
    publishBuild(req.name, buildMs, false);
    // a workflow may have taken the name while this version built (the deployer checked at the start)
    const holder = router.externals.get(req.name);
    if (holder !== undefined) throw nameTaken(req.name, holder.owner);
    deps.hostClaims?.check(req.name, spec.routes);
    const saved = registry.addVersion(
      req.name,
      version,
      { ...record, buildLog: buildLog.text(), buildMs },
      true,
    );
    step('switching live');
    router.setLive(req.name, deployment);
    appendBuildLog(logs, req.name, version, buildLog.lines());
    void executor.retire(req.name, [version]);
    executor.ensure(deployment);
    await pruneVersions(deps, req.name);
    deps.onChanged?.(req.name);
    return { created: existing === undefined, version: saved };
  } catch (err) {
    const failure = toSkiffError(err);
    log(`deploy failed: ${failure.message}`);
    if (
      (failure.code === 'SKIFF_E_CONFLICT' && router.externals.has(req.name)) ||
      failure.code === 'SKIFF_E_HOST_TAKEN'
    ) {
      // nothing of it is recorded: the name (or the host) is not the function's
      await artifacts.discard(staging);
      await artifacts.discard(artifacts.versionDir(req.name, version, hash));
      await executor.retire(req.name, existing?.liveVersion == null ? [] : [existing.liveVersion]);
      throw failure;
    }
    const details = (failure.details as { stderr?: string } | undefined)?.stderr;
    if (details !== undefined) log(details);
    const where = await explainLoadFailure(
      deps,
      spec,
      entry,
      [artifacts.versionDir(req.name, version, hash), staging],
      failure,
      log,
    );
    await artifacts.discard(staging);
    await artifacts.discard(artifacts.versionDir(req.name, version, hash));
    // the versions that take calls keep their instances (the live one, or each of its split)
    const split = registry.getTraffic(req.name)?.map((t) => t.version);
    await executor.retire(req.name, split ?? (existing?.liveVersion == null ? [] : [existing.liveVersion]));
    const text = buildLog.text();
    const buildMs = Date.now() - started;
    registry.addVersion(
      req.name,
      version,
      { hash, status: 'failed', spec, entry, buildLog: text, buildMs },
      false,
    );
    publishBuild(req.name, buildMs, true);
    appendBuildLog(logs, req.name, version, buildLog.lines());
    await pruneVersions(deps, req.name);
    logs.append(req.name, {
      stream: 'build',
      level: 'error',
      message: `version ${version} failed: ${failure.message}`,
      version,
    });
    const code =
      failure.code === 'SKIFF_E_HANDLER_NOT_FOUND' ||
      failure.code === 'SKIFF_E_INVALID_SPEC' ||
      failure.code === 'SKIFF_E_DISK_FULL'
        ? failure.code
        : 'SKIFF_E_BUILD_FAILED';
    // a step's whole output may be in its message: the build log holds it, bounded, so the message is cut
    const message =
      where === undefined ? failure.message : `${failure.message}; ${where.replaceAll('\n', '; ')}`;
    const reason =
      message.length > MESSAGE_MAX_CHARS
        ? `${message.slice(0, MESSAGE_MAX_CHARS)}… (the rest in the build log)`
        : message;
    throw new SkiffError(code, `version ${version} of ${req.name} failed to build: ${reason}`, {
      details: { version, buildLog: text },
    });
  }
}

/** A deploy under a name an external target (a workflow member) serves. */
/**
 * A version that built but failed to load with a syntax error: where its runtime can find the place
 * it did not give (Node's ES modules), the `file:line:column` lines, also written to the build log.
 * Other load failures (a throw at top level, a missing export) are not parsed again.
 */
async function explainLoadFailure(
  deps: DeployerDeps,
  spec: FunctionSpec | undefined,
  entry: string,
  dirs: readonly string[],
  failure: SkiffError,
  log: (line: string) => void,
): Promise<string | undefined> {
  const explain = spec === undefined ? undefined : runtimeOf(spec.runtime).explainSyntaxError;
  if (explain === undefined || entry === '' || !/failed to load .*SyntaxError/.test(failure.message))
    return undefined;
  const dir = dirs.find((d) => existsSync(d));
  if (dir === undefined) return undefined;
  const runner = createBuildRunner(deps.sandbox, dir, deps.config, log);
  try {
    const where = await explain(runner, entry);
    if (where !== undefined) for (const line of where.split('\n')) log(line);
    return where;
  } catch (err) {
    deps.logger.debug({ err }, 'could not look for the syntax error');
    return undefined;
  } finally {
    await runner.finish();
  }
}

export function nameTaken(name: string, owner: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_CONFLICT',
    `the name ${JSON.stringify(name)} is served by ${owner} (a workflow member); choose another name for the function`,
  );
}

/**
 * Keeps at most `functions.maxVersions` versions of a function: the oldest others go, with their code,
 * but never the live version nor one whose instances are still running or draining. Called with the
 * function's deploy lock held, or at start (a registry from before the cap).
 */
export async function pruneVersions(deps: DeployerDeps, name: string): Promise<void> {
  const { config, registry, artifacts, executor } = deps;
  const fn = registry.getFunction(name);
  if (fn === undefined) return;
  const versions = registry.listVersions(name);
  let excess = versions.length - config.functions.maxVersions;
  if (excess <= 0) return;
  const inUse = executor.versionsInUse(name);
  const split = new Set((registry.getTraffic(name) ?? []).map((t) => t.version));
  const victims = [];
  for (const v of versions) {
    if (excess <= 0) break;
    if (v.version === fn.liveVersion || inUse.has(v.version) || split.has(v.version)) continue;
    victims.push(v);
    excess--;
  }
  if (victims.length === 0) return;
  try {
    registry.deleteVersions(
      name,
      victims.map((v) => v.version),
    );
    for (const v of victims) await artifacts.discard(artifacts.versionDir(name, v.version, v.hash));
  } catch (err) {
    // the deploy itself stands; the next one tries again
    deps.logger.warn({ fn: name, err }, 'could not delete old versions');
  }
}

function appendBuildLog(logs: FileLogStore, name: string, version: number, lines: string[]): void {
  for (const message of lines) logs.append(name, { stream: 'build', level: 'info', message, version });
}

/** A deploy's build ended (its duration as the version records it), for observers (shared/probes.ts). */
function publishBuild(fn: string, durationMs: number, failed: boolean): void {
  if (!probes.buildEnd.hasSubscribers) return;
  const message: BuildEnd = { function: fn, durationMs, failed };
  probes.buildEnd.publish(message);
}
