/**
 * Workflows: a named set of functions, each with a map of its output aliases to the functions a cast
 * to that alias goes to. `ctx.cast('output', body)` in a member goes wherever its workflow maps
 * `output` (one function, several, or none); any name not mapped is a plain function name. Leaf
 * module: the spec's schema, the caps and the stored shape; src/store/workflow-store.ts keeps them,
 * src/invoke/workflows.ts resolves casts with them.
 *
 *   { "name": "pipeline",
 *     "functions": { "ingest": { "output": ["resize", "audit"], "errors": [] },
 *                    "resize": { "done": ["store"] }, "store": {} } }
 */
import { z } from 'zod';
import { functionNameSchema, NAME_PATTERN } from './spec.js';

/** The caps of workflows (fixed; a spec over one is refused naming the field). */
export const WORKFLOW_LIMITS = {
  /** Workflows on one platform. */
  maxWorkflows: 100,
  /** Member functions of one workflow. */
  maxFunctions: 64,
  /** Aliases mapped for one member. */
  maxAliases: 32,
  /** Targets of one alias. */
  maxTargets: 32,
  /** Bytes of the spec as sent (JSON). */
  maxSpecBytes: 64 * 1024,
  /** Characters of the description. */
  maxDescription: 1000,
} as const;

/**
 * An output alias: 1-63 letters, digits, `_`, `.` and `-`, starting with a letter or digit. Function
 * names fit, so an alias may also be a function's name (for a member, the mapping wins).
 */
export const ALIAS_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const L = WORKFLOW_LIMITS;

export const workflowNameSchema = z
  .string()
  .regex(NAME_PATTERN, 'use 1-63 lower-case letters, digits and dashes')
  .meta({ description: 'Workflow name: 1-63 lower-case letters, digits and dashes.' });

export const aliasSchema = z
  .string()
  .regex(ALIAS_PATTERN, 'an alias is 1-63 letters, digits, _, . and -, starting with a letter or digit')
  .meta({ description: 'Output alias: 1-63 letters, digits, `_`, `.` and `-`.' });

const targetsSchema = z
  .array(functionNameSchema)
  .max(L.maxTargets, `an alias goes to at most ${L.maxTargets} functions`)
  .superRefine((targets, ctx) => {
    const seen = new Set<string>();
    targets.forEach((target, i) => {
      if (seen.has(target)) ctx.addIssue({ code: 'custom', path: [i], message: `${target} is named twice` });
      seen.add(target);
    });
  })
  .meta({ description: 'The functions a cast to the alias goes to, each once; empty: nowhere.' });

/** A refinement: at most `max` entries, else `what` with the count. */
const sizeCheck = (max: number, what: string) => (record: Record<string, unknown>, ctx: z.RefinementCtx) => {
  const n = Object.keys(record).length;
  if (n > max) ctx.addIssue({ code: 'custom', message: `${what} (${n} here)` });
};

const aliasesSchema = z
  .record(aliasSchema, targetsSchema)
  .superRefine(sizeCheck(L.maxAliases, `a function maps at most ${L.maxAliases} aliases`))
  .meta({ description: 'Output alias → target functions. Aliases not listed are plain function names.' });

/** A workflow spec as applied (`skiff workflow apply <file>`, `PUT /v1/workflows/{name}`). */
export const workflowSpecSchema = z.strictObject({
  name: workflowNameSchema,
  description: z
    .string()
    .max(L.maxDescription, `a description is at most ${L.maxDescription} characters`)
    .optional(),
  functions: z
    .record(functionNameSchema, aliasesSchema)
    .refine((record) => Object.keys(record).length > 0, 'a workflow has at least one function')
    .superRefine(sizeCheck(L.maxFunctions, `a workflow has at most ${L.maxFunctions} functions`))
    .meta({ description: 'Member function → its output aliases. A function is in one workflow at most.' }),
});

export type WorkflowSpec = z.output<typeof workflowSpecSchema>;

/** A workflow as stored: the spec, a version (1 when created, +1 per apply) and its times. */
export interface Workflow {
  spec: WorkflowSpec;
  version: number;
  /** ISO times of the first and the last apply. */
  createdAt: string;
  updatedAt: string;
}

/** Every function a spec names, members and targets, once each. */
export function namedFunctions(spec: WorkflowSpec): string[] {
  const names = new Set<string>();
  for (const [member, aliases] of Object.entries(spec.functions)) {
    names.add(member);
    for (const targets of Object.values(aliases)) for (const t of targets) names.add(t);
  }
  return [...names];
}
