/**
 * Applying an import plan (import-config.ts) to an unpacked folder: each function's codedir is packed
 * and deployed through the Deployer as a function of flavor `baetyl` or `openedge` with its scaling,
 * timeout, limits, environment and MQTT rules; nothing is deployed unless every function's code and
 * runtime were found first. A dry run stops before deploying and shows the specs.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { DeployRequest, Deployer } from '../../control/deploy/deployer.js';
import type { MqttRule } from '../../model/spec.js';
import { SkiffError, toSkiffError } from '../../shared/errors.js';
import { packDirectory } from '../../store/archive/index.js';
import type { ImportHub, ImportPlan, PlannedFunction } from './import-config.js';
import { resolveRuntime } from './import-runtime.js';

/** What a deploy of one imported function is asked for, shown by a dry run. */
export interface ImportedSpec {
  name: string;
  runtime: 'python' | 'node';
  handler: string;
  flavor: 'baetyl' | 'openedge';
  codedir: string;
  env: Record<string, string>;
  scaling: PlannedFunction['scaling'];
  timeoutMs: number;
  limits?: PlannedFunction['limits'];
  triggers: { mqtt: MqttRule[] };
}

export interface ImportResult {
  format: 'baetyl' | 'openedge';
  dryRun: boolean;
  /** Each function with its new version (absent in a dry run), service (1.0) and spec. */
  functions: (ImportedSpec & { service?: string; version?: number; created?: boolean })[];
  /** Every rule as deployed: the function's name and its MQTT rule. */
  rules: (MqttRule & { function: string })[];
  /** 1.0: runtime service → its functions. */
  services: Record<string, string[]>;
  hub?: ImportHub;
  warnings: string[];
}

/** Whether `rel` is a file below `dir`: a handler's `..` never makes the import look at the host's files. */
const isFileIn =
  (dir: string) =>
  (rel: string): boolean => {
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep)) return false;
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };

/** The codedir's absolute path below `root`, refused when it is not a folder of the upload. */
function codeFolder(root: string, fn: PlannedFunction): string {
  const dir = path.resolve(root, fn.codedir);
  if (dir !== root && !dir.startsWith(root + path.sep)) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `function ${JSON.stringify(fn.name)}: codedir leaves the upload`,
    );
  }
  let folder = false;
  try {
    folder = statSync(dir).isDirectory();
  } catch {
    folder = false;
  }
  if (!folder) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `function ${JSON.stringify(fn.name)}: codedir ${JSON.stringify(fn.codedir)} is not a folder of the imported files (codedirs are relative to the base folder: the config file's folder, or the folder above etc/baetyl)`,
    );
  }
  return dir;
}

/** The specs of the plan's functions in the unpacked upload at `root`; refuses before anything is deployed. */
export function importedSpecs(plan: ImportPlan, root: string): { spec: ImportedSpec; dir: string }[] {
  return plan.functions.map((fn) => {
    const dir = codeFolder(root, fn);
    const runtime = resolveRuntime(fn, isFileIn(dir));
    return {
      dir,
      spec: {
        name: fn.name,
        runtime,
        handler: fn.handler,
        flavor: plan.format,
        codedir: fn.codedir,
        env: fn.env,
        scaling: fn.scaling,
        timeoutMs: fn.timeoutMs,
        ...(fn.limits === undefined ? {} : { limits: fn.limits }),
        triggers: { mqtt: fn.mqtt },
      },
    };
  });
}

/** Leaves out only version-control and Skiff folders: Baetyl code ships its dependencies (node_modules). */
const exclude = (rel: string): boolean => rel.split('/').some((part) => part === '.git' || part === '.skiff');

/** The flavors an import may replace: a function imported before, of either generation. */
const REPLACEABLE = new Set(['baetyl', 'openedge']);

/**
 * Refuses (409) when a name of the plan is an existing function of another flavor (a native function,
 * another platform's): the import would silently replace its code, handler, env and triggers.
 */
function checkNames(plan: ImportPlan, existingFlavor: (name: string) => string | undefined): void {
  const taken = plan.functions.flatMap((fn) => {
    const flavor = existingFlavor(fn.name);
    return flavor === undefined || REPLACEABLE.has(flavor) ? [] : [`${fn.name} (flavor ${flavor})`];
  });
  if (taken.length > 0) {
    throw new SkiffError(
      'SKIFF_E_CONFLICT',
      `the import names existing functions that are not Baetyl or OpenEdge functions: ${taken.join(', ')}; nothing was deployed: rename them in the configuration, or delete the existing ones first`,
    );
  }
}

/**
 * Deploys (or, dry, only shows) every function of the plan; a re-import makes new versions.
 * `existingFlavor` gives the flavor of an existing function of that name (undefined: none).
 */
export async function applyImport(
  plan: ImportPlan,
  root: string,
  deployer: Deployer,
  dryRun: boolean,
  existingFlavor: (name: string) => string | undefined = () => undefined,
): Promise<ImportResult> {
  checkNames(plan, existingFlavor);
  const specs = importedSpecs(plan, root);
  const services = new Map(plan.functions.map((fn) => [fn.name, fn.service]));
  const functions: ImportResult['functions'] = [];
  for (const { spec, dir } of specs) {
    const service = services.get(spec.name);
    const entry = { ...spec, ...(service === undefined ? {} : { service }) };
    if (dryRun) {
      functions.push(entry);
      continue;
    }
    const request: DeployRequest = {
      name: spec.name,
      archive: await packDirectory(dir, { exclude }),
      runtime: spec.runtime,
      handler: spec.handler,
      flavor: spec.flavor,
      env: spec.env,
      scaling: spec.scaling,
      timeoutMs: spec.timeoutMs,
      ...(spec.limits === undefined ? {} : { limits: spec.limits }),
      triggers: { mqtt: spec.triggers.mqtt },
      // the import is the whole spec: a skiff.json among the code adds nothing
      specFile: false,
      // as upstream, the codedir holds its dependencies (node_modules, Python packages): nothing is installed
      installDependencies: false,
      mode: 'upsert',
    };
    try {
      const outcome = await deployer.deploy(request);
      functions.push({ ...entry, version: outcome.version.version, created: outcome.created });
    } catch (err) {
      const error = toSkiffError(err);
      const done = functions.map((fn) => fn.name);
      throw new SkiffError(
        error.code,
        `function ${JSON.stringify(spec.name)} was not deployed: ${error.message}${done.length === 0 ? '' : ` (deployed before it: ${done.join(', ')})`}`,
        { ...(error.details === undefined ? {} : { details: error.details }), cause: err },
      );
    }
  }
  return {
    format: plan.format,
    dryRun,
    functions,
    rules: specs.flatMap(({ spec }) => spec.triggers.mqtt.map((rule) => ({ function: spec.name, ...rule }))),
    services: plan.services,
    ...(plan.hub === undefined ? {} : { hub: plan.hub }),
    warnings: plan.warnings,
  };
}
