import type { Executor } from '../executor/executor.js';
import type { FunctionState } from '../model/state.js';
import type { Scaling } from '../model/scaling.js';
import type { z } from 'zod';
import { parseWith, resolveScaling, validateName } from '../shared/validate.js';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import { sendRefusal } from '../shared/refusal.js';
import type { Logger } from '../shared/logger.js';
import type { FileLogStore } from '../store/file-logs.js';
import type { FunctionRecord, Registry, VersionInfo } from '../store/registry.js';
import type { Route, RouteContext } from './app.js';
import type { Deployer } from './deploy/deployer.js';
import { ProgressStream, wantsProgress } from './deploy/progress-stream.js';
import { uploadTooLarge } from './deploy/upload-limit.js';
import { ARCHIVE_TYPES, deployQuery, queryObject, versionParams } from './request-schemas.js';
import type {
  deployResultSchema,
  functionDetailSchema,
  functionListSchema,
  functionSummarySchema,
  versionResponseSchema,
  versionSchema,
} from './response-schemas.js';
import { scalingRoutes, scalingFromQuery } from './scaling.js';
import { answerFunctionLogs, platformLogRoutes } from './logs.js';
import { rollbackRoutes } from './rollback.js';
import { resolvedView } from './resolved-spec.js';
import { trafficRoutes, trafficView } from './traffic.js';
import type { Deployment } from '../model/deployment.js';
import { secretRoutes } from './secrets.js';
import { stateRoutes } from './state.js';

export interface FunctionsDeps {
  registry: Registry;
  /** Whether a dialect serves this name itself (an external target): its logs are readable too. */
  isExternal?: (name: string) => boolean;
  deployer: Deployer;
  executor: Executor;
  logs: FileLogStore;
  /** Per-function state (the `state` sub-resource). */
  state: FunctionState;
  maxUploadBytes: number;
  /** Where a streamed deploy's failure that is not the user's is logged (the app logs the others). */
  logger?: Logger;
  /** The platform's default scaling (config `scaling`). */
  scalingDefaults: Scaling;
  /** The live deployment of a function (every default applied); throws when it has none. */
  liveDeployment: (name: string) => Deployment;
}

const archiveTypes = new Set<string>(ARCHIVE_TYPES);

/** One version as listed; its build log only when given (the live version's, or a version's own view). */
function versionView(
  v: VersionInfo & { buildLog?: string },
  live: number | null,
): z.output<typeof versionSchema> {
  return {
    version: v.version,
    hash: v.hash,
    status: v.status,
    live: v.version === live,
    createdAt: v.createdAt,
    ...(v.buildLog === undefined ? {} : { buildLog: v.buildLog }),
    buildMs: v.buildMs,
  };
}

function summary(fn: FunctionRecord, versions: VersionInfo[]): z.output<typeof functionSummarySchema> {
  const live = versions.find((v) => v.version === fn.liveVersion);
  const latest = live ?? versions[versions.length - 1];
  return {
    name: fn.name,
    runtime: latest?.spec.runtime ?? 'node',
    liveVersion: fn.liveVersion,
    hash: live?.hash ?? null,
    createdAt: fn.createdAt,
    updatedAt: fn.updatedAt,
  };
}

/** Routes of the `functions` resource. */
export function functionRoutes(deps: FunctionsDeps): Route[] {
  const { registry, deployer, executor, logs } = deps;

  const load = (name: string): FunctionRecord => {
    validateName(name);
    const fn = registry.getFunction(name);
    if (fn === undefined)
      throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
    return fn;
  };

  const detail = (fn: FunctionRecord): z.output<typeof functionDetailSchema> => {
    const versions = registry.listVersions(fn.name);
    const live = versions.find((v) => v.version === fn.liveVersion);
    const latest = live ?? versions[versions.length - 1];
    // the live version's build log only (bounded per version); every other one has its own route
    const liveLog =
      fn.liveVersion === null ? undefined : registry.getVersion(fn.name, fn.liveVersion)?.buildLog;
    const { instances, ...status } = executor.status(fn.name);
    const override = registry.getScaling(fn.name);
    const deployment = live === undefined ? undefined : deps.liveDeployment(fn.name);
    const secretNames = registry.listSecrets(fn.name).map((x) => x.name);
    return {
      ...summary(fn, versions),
      handler: latest?.spec.handler ?? latest?.entry ?? null,
      spec: latest?.spec ?? null,
      versions: versions.map((v) =>
        versionView(
          v.version === fn.liveVersion && liveLog !== undefined ? { ...v, buildLog: liveLog } : v,
          fn.liveVersion,
        ),
      ),
      scaling: resolveScaling(deps.scalingDefaults, live?.spec.scaling, override),
      scalingOverride: override,
      instances,
      status,
      traffic: trafficView(fn.liveVersion, registry.getTraffic(fn.name)),
      resolved:
        deployment === undefined || live === undefined
          ? null
          : resolvedView(deployment, live.spec, secretNames),
    };
  };

  const deploy =
    (mode: 'upsert' | 'new-version') =>
    async ({ req, res, params, query }: RouteContext) => {
      const name = validateName(params['name'] ?? '');
      const type = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim() ?? '';
      if (!archiveTypes.has(type)) {
        throw new SkiffError(
          'SKIFF_E_UNSUPPORTED_MEDIA_TYPE',
          `send the function as a zip or tar.gz body (Content-Type application/zip or application/gzip), not ${type}`,
        );
      }
      let archive: Buffer;
      try {
        archive = await readBody(req, deps.maxUploadBytes);
      } catch (err) {
        if (!(err instanceof SkiffError) || err.code !== 'SKIFF_E_PAYLOAD_TOO_LARGE') throw err;
        // answered while the upload still comes: the client reads it rather than a broken connection
        sendRefusal(req, res, uploadTooLarge(req.headers['content-length'], deps.maxUploadBytes));
        return;
      }
      const scaling = scalingFromQuery(query);
      const { runtime, handler } = parseWith(
        deployQuery,
        queryObject(query),
        'SKIFF_E_INVALID_SPEC',
        'a deploy parameter',
      );
      // a client that asks for it follows the build as it runs (progress-stream.ts)
      const progress = wantsProgress(req.headers.accept) ? new ProgressStream(res) : undefined;
      let outcome;
      try {
        outcome = await deployer.deploy({ name, archive, runtime, handler, scaling, mode, progress });
      } catch (err) {
        if (progress === undefined) throw err;
        const error = toSkiffError(err);
        if (!error.isUserError) deps.logger?.error({ err, fn: name, code: error.code }, 'deploy failed');
        progress.fail(error);
        return;
      }
      const fn = load(name);
      const body = {
        function: detail(fn),
        version: versionView(outcome.version, fn.liveVersion),
      } satisfies z.output<typeof deployResultSchema>;
      if (progress === undefined) sendJson(res, outcome.created ? 201 : 200, body);
      else progress.result(outcome.created ? 201 : 200, body);
    };

  return [
    {
      method: 'GET',
      path: '/v1/functions',
      handler: ({ res }) => {
        const functions = registry.listFunctions().map((fn) => summary(fn, registry.listVersions(fn.name)));
        sendJson(res, 200, { functions } satisfies z.output<typeof functionListSchema>);
      },
    },
    { method: 'PUT', path: '/v1/functions/{name}', handler: deploy('upsert') },
    { method: 'POST', path: '/v1/functions/{name}/versions', handler: deploy('new-version') },
    {
      method: 'GET',
      path: '/v1/functions/{name}',
      handler: ({ res, params }) => sendJson(res, 200, { function: detail(load(params['name'] ?? '')) }),
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/versions/{version}',
      handler: ({ res, params }) => {
        const fn = load(params['name'] ?? '');
        const number = versionParams.shape.version.safeParse(params['version']);
        const version = number.success ? registry.getVersion(fn.name, number.data) : undefined;
        if (version === undefined) {
          throw new SkiffError(
            'SKIFF_E_NOT_FOUND',
            `${fn.name} has no version ${JSON.stringify(params['version'] ?? '')} (old versions beyond functions.maxVersions are deleted)`,
          );
        }
        sendJson(res, 200, {
          version: versionView(version, fn.liveVersion),
        } satisfies z.output<typeof versionResponseSchema>);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}',
      handler: async ({ res, params }) => {
        const name = validateName(params['name'] ?? '');
        if (!(await deployer.remove(name)))
          throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `no function named ${JSON.stringify(name)}`);
        res.writeHead(204).end();
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/logs',
      handler: async (ctx) => {
        const name = ctx.params['name'] ?? '';
        const fn = deps.isExternal?.(name) === true ? { name } : load(name);
        await answerFunctionLogs({ logs }, fn.name, ctx);
      },
    },
    ...platformLogRoutes({ logs }),
    ...secretRoutes({ registry, deployer }),
    ...scalingRoutes({ deployer }),
    ...rollbackRoutes(deployer),
    ...trafficRoutes(deployer),
    ...stateRoutes({
      registry,
      state: deps.state,
      ...(deps.isExternal === undefined ? {} : { isExternal: deps.isExternal }),
    }),
  ];
}
