import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../shared/config.js';
import { isDiskFull, retryOnDiskFull } from '../../shared/disk.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Executor } from '../../executor/executor.js';
import { toDeployment } from '../../executor/deployment.js';
import type { Router } from '../../invoke/router.js';
import { extractArchive } from '../../store/archive/index.js';
import { hashTree, type ArtifactStore } from '../../store/artifacts.js';
import type { FileLogStore } from '../../store/file-logs.js';
import type { Registry, VersionRecord } from '../../store/registry.js';
import type { FlavorName, FunctionSpec, SpecInput } from '../../model/spec.js';
import type { Flavors } from '../../model/flavor.js';
import {
  checkFlavor,
  parseScalingPatch,
  parseSpec,
  resolveScaling,
  validateName,
} from '../../shared/validate.js';
import { compactScaling, type Scaling, type ScalingInput } from '../../model/scaling.js';
import { compactLimits } from '../../model/limits.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { BuildLog } from './build-log.js';
import { checkLimitCeilings, checkScalingCeiling } from './ceilings.js';
import { createBuildRunner } from './run-command.js';
import { runtimeOf } from '../../languages/index.js';

export interface DeployRequest {
  name: string;
  archive: Buffer;
  runtime?: string | undefined;
  handler?: string | undefined;
  /** A calling convention given with the deploy (a compatibility API); it wins over skiff.json's. */
  flavor?: FlavorName | undefined;
  /** Environment given with the deploy (a compatibility API); merged over skiff.json's. */
  env?: Record<string, string> | undefined;
  /** Scaling settings given with the deploy; they win over skiff.json's. */
  scaling?: ScalingInput | undefined;
  /** `new-version` refuses to create a function that does not exist yet. */
  mode: 'upsert' | 'new-version';
}

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
  logger: Logger;
  /** The flavors compiled in: a deploy of another is refused. */
  flavors: Flavors;
  /** The isolation of instances; builds run in it too. */
  sandbox: Sandbox;
  /** False when writing this many bytes would eat into the disk's reserve (then 507). */
  diskRoom?: (bytes: number) => boolean;
  /** Told after a deploy made a new version live, and after a delete (triggers reload their rules). */
  onChanged?: (name: string) => void;
}

/** Characters of a failure's message kept in the 422's message (its build log holds more). */
const MESSAGE_MAX_CHARS = 2048;

const flavorOf = (flavor: FlavorName | undefined): { flavor?: FlavorName } =>
  flavor === undefined ? {} : { flavor };

async function readSpecFile(dir: string): Promise<SpecInput> {
  const file = path.join(dir, 'skiff.json');
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', `skiff.json is not valid JSON: ${(err as Error).message}`);
  }
  return parseSpec(raw, 'skiff.json');
}

/**
 * Deploys: extract into staging, build, start the new version, then switch the live version
 * atomically; the old version drains. A failed build is recorded and the previous version keeps serving.
 */
export class Deployer {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: DeployerDeps) {}

  deploy(req: DeployRequest): Promise<DeployOutcome> {
    validateName(req.name);
    const previous = this.locks.get(req.name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.deployLocked(req));
    this.locks.set(req.name, run);
    void run
      .finally(() => {
        if (this.locks.get(req.name) === run) this.locks.delete(req.name);
      })
      .catch(() => undefined);
    return run;
  }

  async remove(name: string): Promise<boolean> {
    validateName(name);
    const { registry, router, executor, artifacts, logs } = this.deps;
    await (this.locks.get(name) ?? Promise.resolve()).catch(() => undefined);
    if (registry.getFunction(name) === undefined) return false;
    const removeFiles = async (): Promise<void> => {
      await executor.retire(name);
      await artifacts.removeFunction(name);
      await logs.remove(name);
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
    if (this.deps.registry.getFunction(name)?.liveVersion != null) executor.ensure(router.resolve(name));
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
      executor.ensure(router.resolve(name));
    }
    return { scaling, override };
  }

  private async deployLocked(req: DeployRequest): Promise<DeployOutcome> {
    const { config, registry, artifacts, executor, router, logs } = this.deps;
    const existing = registry.getFunction(req.name);
    if (existing === undefined && req.mode === 'new-version') {
      throw new SkiffError(
        'SKIFF_E_FUNCTION_NOT_FOUND',
        `no function named ${JSON.stringify(req.name)}; create it with PUT first`,
      );
    }
    if (req.archive.length > config.build.maxUploadBytes) {
      throw new SkiffError(
        'SKIFF_E_ARCHIVE_TOO_LARGE',
        `the upload is larger than ${config.build.maxUploadBytes} bytes`,
      );
    }
    // the unpacked code is not known yet: the archive's size stands for it, twice
    if (this.deps.diskRoom?.(2 * req.archive.length) === false) {
      throw new SkiffError(
        'SKIFF_E_DISK_FULL',
        "the data directory's disk is almost full (below disk.reserveBytes free); delete functions or free space",
      );
    }
    const started = Date.now();
    const staging = await artifacts.createStaging();
    const buildLog = new BuildLog();
    const log = (line: string): void => buildLog.add(line);
    let spec: FunctionSpec | undefined;
    let hash = '';
    try {
      const stats = await extractArchive(req.archive, staging, {
        maxPackedBytes: config.build.maxUploadBytes,
      });
      log(`extracted ${stats.files} files (${stats.bytes} bytes)`);
      spec = this.resolveSpec(req, await readSpecFile(staging));
      if (spec.flavor !== undefined) {
        checkFlavor(
          spec.flavor,
          this.deps.flavors,
          req.flavor === undefined ? 'skiff.json' : 'the deploy parameters',
        );
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
      const runner = createBuildRunner(this.deps.sandbox, staging, config, log);
      const flavor = this.deps.flavors.get(spec.flavor ?? 'native');
      const defaultHandler = flavor?.defaultHandler?.[spec.runtime] ?? null;
      try {
        entry = await runtimeOf(spec.runtime).build({
          dir: staging,
          runner,
          spec,
          defaultHandler,
          config,
          log,
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
        this.deps.flavors,
      );
      const startAt = Date.now();
      await executor.prepare(deployment);
      log(`instance ready in ${Date.now() - startAt} ms`);
      const buildMs = Date.now() - started;
      const saved = registry.addVersion(
        req.name,
        version,
        { ...record, buildLog: buildLog.text(), buildMs },
        true,
      );
      router.setLive(req.name, deployment);
      this.appendBuildLog(req.name, version, buildLog.lines());
      void executor.retire(req.name, [version]);
      executor.ensure(deployment);
      await this.prune(req.name);
      this.deps.onChanged?.(req.name);
      return { created: existing === undefined, version: saved };
    } catch (err) {
      const failure = toSkiffError(err);
      log(`deploy failed: ${failure.message}`);
      const details = (failure.details as { stderr?: string } | undefined)?.stderr;
      if (details !== undefined) log(details);
      await artifacts.discard(staging);
      await artifacts.discard(artifacts.versionDir(req.name, version, hash));
      await executor.retire(req.name, existing?.liveVersion == null ? [] : [existing.liveVersion]);
      const text = buildLog.text();
      registry.addVersion(
        req.name,
        version,
        { hash, status: 'failed', spec, entry, buildLog: text, buildMs: Date.now() - started },
        false,
      );
      this.appendBuildLog(req.name, version, buildLog.lines());
      await this.prune(req.name);
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
      const reason =
        failure.message.length > MESSAGE_MAX_CHARS
          ? `${failure.message.slice(0, MESSAGE_MAX_CHARS)}… (the rest in the build log)`
          : failure.message;
      throw new SkiffError(code, `version ${version} of ${req.name} failed to build: ${reason}`, {
        details: { version, buildLog: text },
      });
    }
  }

  private resolveSpec(req: DeployRequest, file: SpecInput): FunctionSpec {
    const overrides = parseSpec(
      {
        ...(req.runtime === undefined ? {} : { runtime: req.runtime }),
        ...(req.handler === undefined ? {} : { handler: req.handler }),
      },
      'the deploy parameters',
    );
    return {
      name: req.name,
      runtime: overrides.runtime ?? file.runtime ?? 'node',
      handler: overrides.handler ?? file.handler ?? null,
      description: file.description ?? '',
      env: { ...file.env, ...req.env },
      timeoutMs: file.timeoutMs ?? null,
      command:
        file.command === undefined
          ? null
          : typeof file.command === 'string'
            ? ['/bin/sh', '-c', file.command]
            : file.command,
      scaling: compactScaling({ ...file.scaling, ...req.scaling }),
      ...(file.limits === undefined ? {} : { limits: compactLimits(file.limits) }),
      ...(file.network === undefined ? {} : { network: file.network }),
      ...flavorOf(req.flavor ?? file.flavor),
      ...(file.triggers === undefined
        ? {}
        : {
            triggers: {
              ...(file.triggers.mqtt === undefined ? {} : { mqtt: file.triggers.mqtt }),
              ...(file.triggers.cron === undefined ? {} : { cron: file.triggers.cron }),
            },
          }),
    };
  }

  /**
   * Keeps at most `functions.maxVersions` versions of a function: the oldest others go, with their code,
   * but never the live version nor one whose instances are still running or draining. Called with the
   * function's deploy lock held, or at start (a registry from before the cap).
   */
  async prune(name: string): Promise<void> {
    const { config, registry, artifacts, executor } = this.deps;
    const fn = registry.getFunction(name);
    if (fn === undefined) return;
    const versions = registry.listVersions(name);
    let excess = versions.length - config.functions.maxVersions;
    if (excess <= 0) return;
    const inUse = executor.versionsInUse(name);
    const victims = [];
    for (const v of versions) {
      if (excess <= 0) break;
      if (v.version === fn.liveVersion || inUse.has(v.version)) continue;
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
      this.deps.logger.warn({ fn: name, err }, 'could not delete old versions');
    }
  }

  private appendBuildLog(name: string, version: number, lines: string[]): void {
    for (const message of lines)
      this.deps.logs.append(name, { stream: 'build', level: 'info', message, version });
  }
}
