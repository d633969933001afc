/**
 * The executor's runtimes: each one a Skiff function of flavor `openruntimes` (named `opr-<id>`),
 * made from a stored source by `POST /v1/runtimes` or by an execution's cold start, optionally built
 * first by the client's build command in Skiff's build sandbox. Records persist (runtime-store.ts);
 * idle runtimes are removed by the reaper (reaper.ts), never one with an execution in flight.
 */
import { createHash, randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { ForeignBuilds } from '../../control/deploy/foreign-builds.js';
import type { Deployer } from '../../control/deploy/deployer.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Registry } from '../../store/registry.js';
import {
  BuildOutput,
  emptySource,
  packArtifact,
  readableArchive,
  runBuild,
  type OutputEntry,
} from './build-step.js';
import { oprError } from './errors.js';
import type { LogHub } from './log-hub.js';
import { buildKeys, languageOf, loadFailure, runtimeEnv } from './runtime-spec.js';
import type { LoadFailure, RuntimeRecord, RuntimeStore } from './runtime-store.js';
import type { CreateParams, ExecuteParams } from './schemas.js';
import type { FileStorage } from './storage.js';

const CACHE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RuntimesOptions {
  store: RuntimeStore;
  hub: LogHub;
  builds: ForeignBuilds;
  deployer: Deployer;
  registry: Registry;
  storage: FileStorage;
  logger: Logger;
  /** Runtime versions accepted (`OPR_EXECUTOR_RUNTIME_VERSIONS`). */
  versions: readonly string[];
  maxRuntimes: number;
  /** The platform's build time limit (`build.timeoutMs`): a build's `timeout` is capped by it. */
  maxBuildMs: number;
  /** The largest archive accepted (`build.maxUploadBytes`). */
  maxArchiveBytes: number;
  /** Function timeout of the runtimes (an execution's `timeout` is shorter). */
  functionTimeoutMs: number;
}

export interface CreateReply {
  output: OutputEntry[];
  startTime: number;
  duration: number;
  path?: string;
  size?: number;
}

/** The Skiff function of a runtime id: `opr-<id>` when the id is a valid name, else a hash of it. */
export function functionName(runtimeId: string): string {
  const candidate = `opr-${runtimeId}`;
  return /^[a-z0-9][a-z0-9-]{0,62}$/.test(candidate)
    ? candidate
    : `opr-${createHash('sha256').update(runtimeId).digest('hex').slice(0, 24)}`;
}

export class Runtimes {
  /** Runtimes being created: the id → its creation. */
  private readonly creating = new Map<string, Promise<RuntimeRecord | undefined>>();
  /** Executions in flight per runtime id (the reaper leaves those runtimes alone). */
  private readonly busy = new Map<string, number>();
  /** When each runtime was last used (ms). */
  private readonly lastUsed = new Map<string, number>();
  /**
   * Functions of deleted runtimes still being removed (their instances retired, their files deleted):
   * a runtime made again under the same id waits for that, else the old removal deletes the new files.
   */
  private readonly removing = new Map<string, Promise<unknown>>();

  constructor(private readonly o: RuntimesOptions) {
    for (const record of o.store.list()) this.lastUsed.set(record.runtimeId, Date.now());
  }

  get(runtimeId: string): RuntimeRecord | undefined {
    return this.o.store.get(runtimeId);
  }

  list(): RuntimeRecord[] {
    return this.o.store.list();
  }

  /** Ids being created (listed as `pending`). */
  pending(): string[] {
    return [...this.creating.keys()].filter((id) => this.o.store.get(id) === undefined);
  }

  private refuseTaken(runtimeId: string): void {
    if (this.creating.has(runtimeId)) {
      throw oprError(
        'runtime_conflict',
        'A runtime with the same ID is already being created. Attempt a execution soon.',
      );
    }
    if (this.o.store.get(runtimeId) !== undefined)
      throw oprError('runtime_conflict', 'Runtime already exists.');
    if (this.o.store.size + this.creating.size >= this.o.maxRuntimes) {
      throw oprError(
        'runtime_failed',
        `The executor holds ${this.o.maxRuntimes} runtimes, its limit (compat.openruntimes.maxRuntimes): delete one first.`,
      );
    }
  }

  /** `POST /v1/runtimes`. */
  async create(params: CreateParams): Promise<CreateReply> {
    const started = Date.now();
    this.refuseTaken(params.runtimeId);
    if (params.cacheKey !== '' && !CACHE_KEY.test(params.cacheKey)) {
      throw oprError(
        'execution_bad_request',
        'Cache key must start with a letter or number and may only contain letters, numbers, dots, underscores, and hyphens.',
      );
    }
    const output = new BuildOutput(this.o.hub.open(params.runtimeId));
    const creation = this.make(params, output);
    this.creating.set(
      params.runtimeId,
      creation.then(
        (made) => made.record,
        () => undefined,
      ),
    );
    try {
      const made = await creation;
      return {
        output: output.entries,
        startTime: started / 1000,
        duration: (Date.now() - started) / 1000,
        ...(made.artifact === undefined ? {} : made.artifact),
      };
    } finally {
      this.creating.delete(params.runtimeId);
      this.o.hub.close(params.runtimeId);
    }
  }

  /**
   * The runtime an execution runs on: the existing one, the one being created, or (given `image` and
   * `source`) a new one made from them; else 404.
   */
  async ensure(runtimeId: string, params: ExecuteParams): Promise<RuntimeRecord> {
    const existing = this.o.store.get(runtimeId);
    if (existing !== undefined) return existing;
    const inProgress = this.creating.get(runtimeId);
    if (inProgress === undefined && (params.image === '' || params.source === '')) {
      throw oprError(
        'runtime_not_found',
        'Runtime not found. Please start it first or provide runtime-related parameters.',
      );
    }
    const creation =
      inProgress ??
      this.create({
        ...params,
        runtimeId,
        destination: '',
        command: '',
        cacheKey: '',
        timeout: 600,
        remove: false,
      }).then(() => this.o.store.get(runtimeId));
    // the wait for the runtime is bounded by the execution's timeout (the creation goes on)
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), params.timeout * 1000);
    });
    try {
      const record = await Promise.race([creation, timedOut]);
      if (record === 'timeout') throw oprError('runtime_timeout', 'Timed out waiting for runtime.');
      if (record !== undefined) return record;
      throw oprError('runtime_failed', 'The runtime failed to start; see the reply of its creation.');
    } finally {
      clearTimeout(timer);
    }
  }

  private async make(
    params: CreateParams,
    output: BuildOutput,
  ): Promise<{ record: RuntimeRecord | undefined; artifact?: { path: string; size: number } }> {
    if (!this.o.versions.includes(params.version)) {
      throw oprError(
        'execution_bad_request',
        `Invalid \`version\` param: Value must be one of (${this.o.versions.join(', ')})`,
      );
    }
    const language = languageOf(params.image);
    const fn = functionName(params.runtimeId);
    await this.removing.get(fn);
    const other = this.o.store.byFunction(fn);
    if (other !== undefined || (this.o.registry.getFunction(fn) !== undefined && !params.remove)) {
      throw oprError(
        'runtime_conflict',
        `A Skiff function named ${fn} exists already; pick another runtime ID.`,
      );
    }
    // no source (upstream's runtimes for commands only): empty code, which cannot load (503 per execution)
    const source = params.source === '' ? await emptySource() : await this.o.storage.read(params.source);
    const secret = randomBytes(16).toString('hex');
    const env = runtimeEnv(params, secret, fn);
    let archive = params.command === '' ? await readableArchive(source) : source;
    let artifact: { path: string; size: number } | undefined;
    if (params.command !== '') {
      const workDir = await runBuild({
        builds: this.o.builds,
        source,
        command: params.command,
        env: { ...env, OPEN_RUNTIMES_BUILD_KEYS: buildKeys(params.variables) },
        pythonPackages: language === 'python',
        timeoutMs: Math.min(params.timeout * 1000, this.o.maxBuildMs),
        maxBytes: this.o.maxArchiveBytes,
        output,
      });
      try {
        output.add('Build packaging started.\n');
        const compressed = params.variables['OPEN_RUNTIMES_BUILD_COMPRESSION'] !== 'none';
        const packed = await packArtifact(
          await outputFolder(workDir, params.outputDirectory),
          compressed,
          this.o.maxArchiveBytes,
        );
        if (params.destination !== '') {
          const stored = await this.o.storage.write(
            params.destination,
            compressed ? '.tar.gz' : '.tar',
            packed,
          );
          artifact = { path: stored, size: packed.length };
        }
        archive = compressed ? packed : await packArtifact(workDir, true, this.o.maxArchiveBytes);
        output.add('Build packaging finished.\nBuild finished.\n');
      } finally {
        await this.o.builds.discard(workDir);
      }
    }
    if (params.remove) return { record: undefined, ...(artifact === undefined ? {} : { artifact }) };
    const record = await this.deploy(params, language, fn, secret, env, archive);
    return { record, ...(artifact === undefined ? {} : { artifact }) };
  }

  private async deploy(
    params: CreateParams,
    language: 'node' | 'python',
    fn: string,
    secret: string,
    env: Record<string, string>,
    archive: Buffer,
  ): Promise<RuntimeRecord> {
    const entrypoint =
      params.entrypoint === '' ? (language === 'node' ? 'index.js' : 'main.py') : params.entrypoint;
    let failure: LoadFailure | null = null;
    try {
      await this.o.deployer.deploy({
        name: fn,
        archive,
        runtime: language,
        handler: language === 'python' && !entrypoint.includes(':') ? `${entrypoint}:main` : entrypoint,
        flavor: 'openruntimes',
        env,
        limits: { cpus: params.cpus, memoryMb: params.memory },
        timeoutMs: this.o.functionTimeoutMs,
        // upstream waits for a runtime as long as its creation's timeout: its code may load slowly
        startTimeoutMs: Math.min(params.timeout * 1000, this.o.functionTimeoutMs),
        installDependencies: false,
        // the code is the client's upload: a skiff.json in it adds nothing (triggers, network, scaling)
        specFile: false,
        mode: 'upsert',
      });
    } catch (err) {
      failure = loadFailure(toSkiffError(err), entrypoint);
      if (failure === null) {
        await this.o.deployer.remove(fn).catch(() => false);
        throw err instanceof SkiffError && err.status < 500 ? oprError('runtime_failed', err.message) : err;
      }
    }
    const now = Date.now() / 1000;
    const record: RuntimeRecord = {
      runtimeId: params.runtimeId,
      fn,
      image: params.image,
      language,
      version: params.version,
      created: now,
      updated: now,
      secret,
      entrypoint,
      cpus: params.cpus,
      memory: params.memory,
      variables: params.variables,
      failure,
    };
    this.o.store.put(record);
    this.lastUsed.set(record.runtimeId, Date.now());
    return record;
  }

  /** `DELETE /v1/runtimes/:id`: false when there is none. */
  async remove(runtimeId: string): Promise<boolean> {
    const record = this.o.store.get(runtimeId);
    if (record === undefined) return false;
    this.o.store.delete(runtimeId);
    this.lastUsed.delete(runtimeId);
    const removal = this.o.deployer.remove(record.fn);
    const settled = removal.catch(() => undefined);
    this.removing.set(record.fn, settled);
    try {
      await removal;
    } finally {
      if (this.removing.get(record.fn) === settled) this.removing.delete(record.fn);
    }
    return true;
  }

  /** Marks an execution on `runtimeId` started; the returned function marks it ended. */
  use(runtimeId: string): () => void {
    this.busy.set(runtimeId, (this.busy.get(runtimeId) ?? 0) + 1);
    this.lastUsed.set(runtimeId, Date.now());
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.busy.get(runtimeId) ?? 1) - 1;
      if (left <= 0) this.busy.delete(runtimeId);
      else this.busy.set(runtimeId, left);
      this.lastUsed.set(runtimeId, Date.now());
    };
  }

  /** Removes the runtimes idle for more than `thresholdMs` (none with an execution in flight). */
  async reap(thresholdMs: number): Promise<string[]> {
    const removed: string[] = [];
    const now = Date.now();
    for (const record of this.o.store.list()) {
      const id = record.runtimeId;
      if (this.busy.has(id) || this.creating.has(id)) continue;
      if (now - (this.lastUsed.get(id) ?? 0) <= thresholdMs) continue;
      try {
        if (await this.remove(id)) removed.push(id);
      } catch (err) {
        this.o.logger.warn({ err, runtimeId: id }, 'removing an idle Open Runtimes runtime failed');
      }
    }
    return removed;
  }
}

/**
 * The folder a build's artifact is packed from: `outputDirectory` below the code, else all of it. The
 * build made the folder, so its real path is checked to be inside the code (a symbolic link out is refused).
 */
async function outputFolder(workDir: string, outputDirectory: string): Promise<string> {
  const rel = outputDirectory.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (rel === '' || rel === '.') return workDir;
  const refuse = (why: string): SkiffError =>
    oprError('build_failed', `Output directory ${outputDirectory} ${why}.`);
  if (rel.split('/').includes('..') || rel.startsWith('/')) throw refuse('is not a folder below the code');
  const [root, real] = await Promise.all([
    realpath(workDir),
    realpath(path.join(workDir, rel)).catch(() => undefined),
  ]);
  if (real === undefined) throw refuse('does not exist after the build');
  if (!real.startsWith(root + path.sep)) throw refuse('leads out of the code');
  return real;
}
