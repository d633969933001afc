/**
 * The checks of the domain model that refuse bad input with a stable code: the model (src/model/) holds
 * the schemas and stays free of the error registry; these wrap them for the control API, the CLI and
 * the executor.
 */
import type { z } from 'zod';
import type { Flavor, Flavors } from '../model/flavor.js';
import {
  compactScaling,
  scalingInputSchema,
  scalingPatchSchema,
  type Scaling,
  type ScalingInput,
} from '../model/scaling.js';
import { functionNameSchema, specSchema, withLanguageRuntime, type SpecInput } from '../model/spec.js';
import { workflowSpecSchema, type WorkflowSpec } from '../model/workflow.js';
import { SkiffError, type ErrorCode } from './errors.js';
import { closest } from './suggest.js';

export function validateName(name: string): string {
  if (!functionNameSchema.safeParse(name).success) {
    throw new SkiffError(
      'SKIFF_E_INVALID_NAME',
      `invalid function name ${JSON.stringify(name)}: use 1-63 lower-case letters, digits and dashes, starting with a letter or digit`,
    );
  }
  return name;
}

/** `triggers.cron[0].schedule`: a zod issue path as a reader writes it. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out || '(root)';
}

function refuse(code: ErrorCode, source: string, error: z.ZodError, raw?: unknown): never {
  const problems = error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? ` unknown field(s) ${issue.keys.join(', ')}:` : '';
    return `${pathText(issue.path)}:${keys} ${issue.message}${suggestion(issue, raw)}`;
  });
  throw new SkiffError(code, `${source} is invalid: ${problems.join('; ')}`);
}

/** For a value that is not one of a list: the listed one it is likely a typo of. */
function suggestion(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code !== 'invalid_value') return '';
  let value: unknown = raw;
  for (const key of issue.path) {
    if (typeof value !== 'object' || value === null) return '';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (typeof value !== 'string') return '';
  const known = issue.values.filter((v): v is string => typeof v === 'string');
  const near = closest(value, known);
  return near === undefined ? '' : `; did you mean ${JSON.stringify(near)}?`;
}

/** Parses with any schema; a failure is `code` with a message naming `source` and each bad field. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  code: ErrorCode,
  source: string,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  return refuse(code, source, result.error, raw);
}

/** Parses a skiff.json (or deploy overrides); a versioned runtime name (`node20`) names its language. */
export function parseSpec(raw: unknown, source: string): SpecInput {
  return parseWith(specSchema, withLanguageRuntime(raw), 'SKIFF_E_INVALID_SPEC', source);
}

/** The flavor of that name among those compiled in; refuses an unknown one, naming the known ones. */
export function checkFlavor(name: string, flavors: Flavors, source: string): Flavor {
  const flavor = flavors.get(name);
  if (flavor !== undefined) return flavor;
  throw new SkiffError(
    'SKIFF_E_INVALID_SPEC',
    `${source} is invalid: flavor: unknown flavor ${JSON.stringify(name)}; use one of ${[...flavors.keys()].join(', ')}`,
  );
}

/** Validates a partial scaling object from a user, with a message naming each bad field. */
export function parseScaling(raw: unknown, source: string): ScalingInput {
  const result = scalingInputSchema.safeParse(raw);
  if (result.success) return compactScaling(result.data);
  return refuse('SKIFF_E_INVALID_SCALING', source, result.error);
}

/** Validates a scaling patch (`skiff fn scale`): each field a value, or null to remove it. */
export function parseScalingPatch(raw: unknown, source: string): z.output<typeof scalingPatchSchema> {
  return parseWith(scalingPatchSchema, raw, 'SKIFF_E_INVALID_SCALING', source);
}

export function checkScaling(s: Scaling): void {
  if (s.minInstances > s.maxInstances) {
    throw new SkiffError(
      'SKIFF_E_INVALID_SCALING',
      `minInstances (${s.minInstances}) is above maxInstances (${s.maxInstances}): lower the minimum or raise the maximum`,
    );
  }
}

/** Layers defaults < skiff.json < function override; refuses a minimum above the maximum. */
export function resolveScaling(
  defaults: Scaling,
  ...layers: ({ [K in keyof Scaling]?: number | undefined } | null | undefined)[]
): Scaling {
  let out: Scaling = { ...defaults };
  for (const layer of layers) if (layer) out = { ...out, ...compactScaling(layer) };
  checkScaling(out);
  return out;
}

/** One problem of a refused workflow spec: the field (`functions.resize.done[0]`) and what is wrong. */
export interface WorkflowIssue {
  path: string;
  message: string;
}

/**
 * Validates a workflow spec (model/workflow.ts); a failure is SKIFF_E_INVALID_WORKFLOW whose message
 * names `source` and each bad field, with `details.issues` listing them ({ path, message }).
 */
export function parseWorkflow(raw: unknown, source: string): WorkflowSpec {
  const result = workflowSpecSchema.safeParse(raw);
  if (result.success) return result.data;
  throw invalidWorkflow(
    source,
    result.error.issues.map((issue) => ({
      path: pathText(issue.path),
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field(s) ${issue.keys.join(', ')}`
          : issue.code === 'invalid_key'
            ? `invalid name ${JSON.stringify(issue.path[issue.path.length - 1])}: ${issue.issues[0]?.message ?? issue.message}`
            : issue.message,
    })),
  );
}

/** SKIFF_E_INVALID_WORKFLOW naming each problem, with `details.issues`. */
export function invalidWorkflow(source: string, issues: WorkflowIssue[]): SkiffError {
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new SkiffError('SKIFF_E_INVALID_WORKFLOW', `${source} is invalid: ${text}`, {
    details: { issues },
  });
}
