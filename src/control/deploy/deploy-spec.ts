/** What a deploy is asked for, and the spec it resolves to: skiff.json under the deploy's own parameters. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import { parseSpec } from '../../shared/validate.js';
import type { Access, FlavorName, FunctionSpec, RuntimeName, SpecInput } from '../../model/spec.js';
import { compactScaling, type ScalingInput } from '../../model/scaling.js';
import { normalRoutes } from '../../model/host-routes.js';
import { compactLimits, type LimitsInput } from '../../model/limits.js';

/** Told how a deploy goes while it runs (a client that follows its progress). */
export interface DeployProgress {
  /** A step starts: "unpacking", "installing dependencies", "compiling", "starting the new version"… */
  step(name: string): void;
  /** A line of the build log, as it is added (the stored log is these lines, bounded). */
  output(line: string): void;
}

export interface DeployRequest {
  name: string;
  /** Told the steps and the build log's lines as they come. */
  progress?: DeployProgress | undefined;
  archive: Buffer;
  runtime?: string | undefined;
  handler?: string | undefined;
  /** A calling convention given with the deploy (a compatibility API); it wins over skiff.json's. */
  flavor?: FlavorName | undefined;
  /** Environment given with the deploy (a compatibility API); merged over skiff.json's. */
  env?: Record<string, string> | undefined;
  /** Scaling settings given with the deploy; they win over skiff.json's. */
  scaling?: ScalingInput | undefined;
  /** Limits given with the deploy (a compatibility API); they win over skiff.json's, per field. */
  limits?: LimitsInput | undefined;
  /** A timeout given with the deploy (a compatibility API); it wins over skiff.json's. */
  timeoutMs?: number | undefined;
  /** Triggers given with the deploy (a compatibility API's MQTT rules); each kind wins over skiff.json's. */
  triggers?: FunctionSpec['triggers'] | undefined;
  /** A start timeout given with the deploy (a compatibility API); it wins over skiff.json's. */
  startTimeoutMs?: number | undefined;
  /**
   * false: the upload brings its dependencies (a compatibility API built them in the build sandbox
   * already), so the build does not install them again. Default true.
   */
  installDependencies?: boolean | undefined;
  /**
   * false: a skiff.json in the upload is not read, the request is the whole spec (a compatibility
   * API whose clients upload code written by others: their skiff.json must not add triggers, network
   * or scaling the API did not ask for). Default true.
   */
  specFile?: boolean | undefined;
  /** `new-version` refuses to create a function that does not exist yet. */
  mode: 'upsert' | 'new-version';
}

const startTimeoutOf = (ms: number | undefined): { startTimeoutMs?: number } =>
  ms === undefined ? {} : { startTimeoutMs: ms };

const flavorOf = (flavor: FlavorName | undefined): { flavor?: FlavorName } =>
  flavor === undefined ? {} : { flavor };

/** Reads `skiff.json` from an unpacked upload (none: an empty spec). */
export async function readSpecFile(dir: string): Promise<SpecInput> {
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

/** The spec of a deploy: the request's parameters win over skiff.json, and the defaults fill the rest. */
export function resolveSpec(req: DeployRequest, file: SpecInput, inferred?: RuntimeName): FunctionSpec {
  const overrides = parseSpec(
    {
      ...(req.runtime === undefined ? {} : { runtime: req.runtime }),
      ...(req.handler === undefined ? {} : { handler: req.handler }),
    },
    'a deploy parameter',
  );
  return {
    name: req.name,
    runtime: overrides.runtime ?? file.runtime ?? inferred ?? 'node',
    handler: overrides.handler ?? file.handler ?? null,
    description: file.description ?? '',
    env: { ...file.env, ...req.env },
    timeoutMs: req.timeoutMs ?? file.timeoutMs ?? null,
    ...startTimeoutOf(req.startTimeoutMs ?? file.startTimeoutMs),
    command:
      file.command === undefined
        ? null
        : typeof file.command === 'string'
          ? ['/bin/sh', '-c', file.command]
          : file.command,
    scaling: compactScaling({ ...file.scaling, ...req.scaling }),
    ...(file.limits === undefined && req.limits === undefined
      ? {}
      : { limits: compactLimits({ ...file.limits, ...req.limits }) }),
    ...(file.network === undefined ? {} : { network: file.network }),
    ...flavorOf(req.flavor ?? file.flavor),
    ...triggersOf(file.triggers, req.triggers),
    ...accessOf(file.access),
    ...(file.cors === undefined ? {} : { cors: file.cors }),
    ...(file.routes === undefined ? {} : { routes: normalRoutes(file.routes) }),
  };
}

/** The spec's triggers: the request's kinds (mqtt, cron) win over skiff.json's; absent when neither has any. */
function triggersOf(
  file: SpecInput['triggers'],
  req: FunctionSpec['triggers'],
): { triggers?: NonNullable<FunctionSpec['triggers']> } {
  const mqtt = req?.mqtt ?? file?.mqtt;
  const cron = req?.cron ?? file?.cron;
  if (file === undefined && req === undefined) return {};
  return {
    triggers: { ...(mqtt === undefined ? {} : { mqtt }), ...(cron === undefined ? {} : { cron }) },
  };
}

/** The spec's `access`, with only the fields skiff.json set (absent when neither is). */
function accessOf(access: Access | undefined): { access?: NonNullable<FunctionSpec['access']> } {
  if (access?.callers === undefined && access?.private !== true) return {};
  return {
    access: {
      ...(access.callers === undefined ? {} : { callers: access.callers }),
      ...(access.private === true ? { private: true } : {}),
    },
  };
}
