/**
 * EDGELESS workflow JSON (what upstream's `edgeless_cli workflow start` reads) read, checked and turned
 * into a typed plan (workflow-plan.ts). Pure: no I/O, nothing started. The shape follows upstream's
 * `SpawnWorkflowRequest` (functions with `name`, `class_specification`, `output_mapping`, `annotations`;
 * resources with `name`, `class_type`, `output_mapping`, `configurations`; workflow `annotations`);
 * unknown fields are ignored as serde ignores them. Every problem is collected and the workflow refused
 * once: SKIFF_E_INVALID_SPEC whose message names each field (`functions[1].class_specification.code:
 * container function type not implemented: ftp`), with `details.issues` listing them.
 * docs/compat/edgeless/workflows.md is the user's page; it lists the deliberate differences.
 */
import { z } from 'zod';
import { SkiffError } from '../../shared/errors.js';
import { maxInstances, placementProblems } from './workflow-annotations.js';
import { containerAttach } from './workflow-code.js';
import { fileLogConfig } from './workflow-file-log.js';
import {
  EDGELESS_KEY_PATTERN,
  EDGELESS_NAME_PATTERN,
  EDGELESS_WORKFLOW_LIMITS as L,
  skiffName,
  type FileLogPlan,
  type FunctionPlan,
  type PlanIssue,
  type WorkflowJsonOptions,
  type WorkflowPlan,
} from './workflow-plan.js';

export type * from './workflow-plan.js';

const NAME_RULE = '1-63 letters, digits, _, . and -, starting with a letter or digit';

const nameSchema = z.string().regex(EDGELESS_NAME_PATTERN, `a name is ${NAME_RULE}`);
const channelSchema = z.string().regex(EDGELESS_NAME_PATTERN, `an output channel is ${NAME_RULE}`);
const fieldSchema = z.string().max(L.maxFieldChars, `at most ${L.maxFieldChars} characters`);

const capEntries = (record: Record<string, unknown>, ctx: z.RefinementCtx): void => {
  const n = Object.keys(record).length;
  if (n > L.maxEntries)
    ctx.addIssue({ code: 'custom', message: `at most ${L.maxEntries} entries (${n} here)` });
};

/** A string map (annotations, configurations): safe keys, string values. */
const stringMap = z
  .record(
    z
      .string()
      .regex(EDGELESS_KEY_PATTERN, 'a key is 1-256 letters, digits and _ . : / -, starting alphanumeric'),
    z.string().max(L.maxValueChars, `a value is at most ${L.maxValueChars} characters`),
  )
  .superRefine(capEntries);

/** Output channel → target name; targets are checked against the workflow's names afterwards. */
const mappingSchema = z.record(channelSchema, z.string().max(L.maxFieldChars)).superRefine(capEntries);

const functionSchema = z.object({
  name: nameSchema,
  class_specification: z.object({
    id: fieldSchema,
    version: fieldSchema,
    function_type: fieldSchema,
    code: fieldSchema.optional(),
    outputs: z.array(channelSchema).max(L.maxEntries, `at most ${L.maxEntries} outputs`),
  }),
  output_mapping: mappingSchema.default({}),
  annotations: stringMap.default({}),
});

const resourceSchema = z.object({
  name: nameSchema,
  class_type: fieldSchema,
  output_mapping: mappingSchema.default({}),
  configurations: stringMap.default({}),
});

const workflowSchema = z
  .object({
    functions: z.array(functionSchema).min(1, 'a workflow has at least one function'),
    resources: z.array(resourceSchema).default([]),
    annotations: stringMap.default({}),
  })
  .superRefine((spec, ctx) => {
    const n = spec.functions.length + spec.resources.length;
    if (n > L.maxComponents)
      ctx.addIssue({
        code: 'custom',
        message: `a workflow has at most ${L.maxComponents} functions and resources together (${n} here)`,
      });
  });

type Spec = z.output<typeof workflowSchema>;
type SpecFunction = Spec['functions'][number];
type SpecResource = Spec['resources'][number];

/** `functions[1].class_specification.code`: a zod path as a reader writes it. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out || '(root)';
}

/** A bad map key reports what its key schema says, not zod's generic "Invalid key in record". */
function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0)
    return issue.issues.map((inner) => inner.message).join('; ');
  return issue.message;
}

function refuse(issues: PlanIssue[]): never {
  const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new SkiffError('SKIFF_E_INVALID_SPEC', `EDGELESS workflow is invalid: ${text}`, {
    details: { issues },
  });
}

/** Reads the JSON text of a workflow file (at most 256 KiB) and plans it. */
export function readEdgelessWorkflow(text: string | Uint8Array, options: WorkflowJsonOptions): WorkflowPlan {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
  if (bytes > L.maxBytes)
    refuse([{ path: '(root)', message: `the file is ${bytes} bytes; at most ${L.maxBytes} are read` }]);
  const source = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    refuse([{ path: '(root)', message: `not JSON: ${(err as Error).message}` }]);
  }
  return planEdgelessWorkflow(value, options);
}

/** Checks a parsed workflow document and returns its plan; refuses it naming every bad field. */
export function planEdgelessWorkflow(value: unknown, options: WorkflowJsonOptions): WorkflowPlan {
  const parsed = workflowSchema.safeParse(value);
  if (!parsed.success)
    refuse(parsed.error.issues.map((issue) => ({ path: pathText(issue.path), message: issueText(issue) })));
  return new Planner(parsed.data, options).plan();
}

class Planner {
  private readonly issues: PlanIssue[] = [];
  private readonly warnings: string[] = [];
  /** Every name of the workflow → the path that claimed it first. */
  private readonly names = new Map<string, string>();
  /** The same, by the Skiff name each becomes. */
  private readonly skiffNames = new Map<string, { name: string; at: string }>();

  constructor(
    private readonly spec: Spec,
    private readonly options: WorkflowJsonOptions,
  ) {}

  plan(): WorkflowPlan {
    const { spec } = this;
    spec.functions.forEach((f, i) => this.claim(f.name, `functions[${i}]`));
    spec.resources.forEach((r, i) => this.claim(r.name, `resources[${i}]`));
    const functions = spec.functions.map((f, i) => this.planFunction(f, `functions[${i}]`));
    const resources = spec.resources.map((r, i) => this.planResource(r, `resources[${i}]`));
    if (Object.keys(spec.annotations).length > 0)
      this.warnings.push('annotations: workflow annotations are accepted and not used (as upstream)');
    if (this.issues.length > 0) refuse(this.issues);
    return {
      functions: functions.filter((f): f is FunctionPlan => f !== undefined),
      resources: resources.filter((r): r is FileLogPlan => r !== undefined),
      annotations: { ...spec.annotations },
      warnings: this.warnings,
    };
  }

  private issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  private claim(name: string, at: string): void {
    const first = this.names.get(name);
    if (first !== undefined) {
      this.issue(`${at}.name`, `${JSON.stringify(name)} is already the name of ${first}: names are unique`);
      return;
    }
    this.names.set(name, at);
    const skiff = skiffName(name);
    const twin = this.skiffNames.get(skiff);
    if (twin === undefined) this.skiffNames.set(skiff, { name, at });
    else
      this.issue(
        `${at}.name`,
        `${JSON.stringify(name)} and ${JSON.stringify(twin.name)} (${twin.at}) both become the Skiff name ${skiff}: rename one`,
      );
  }

  /** Targets must be names of this workflow; `self` is reserved for the caller itself. */
  private mapping(
    mapping: Record<string, string>,
    at: string,
    declared?: readonly string[],
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [channel, target] of Object.entries(mapping).sort(([a], [b]) => a.localeCompare(b))) {
      if (!this.names.has(target))
        this.issue(
          `${at}.output_mapping.${channel}`,
          `unknown target ${JSON.stringify(target)}: no function or resource of this workflow has that name`,
        );
      if (channel === 'self')
        this.warnings.push(
          `${at}.output_mapping.self: "self" always means the sender itself; this mapping is never used`,
        );
      else if (declared !== undefined && !declared.includes(channel))
        this.warnings.push(
          `${at}.output_mapping.${channel}: channel not declared in class_specification.outputs; mapped anyway (as upstream)`,
        );
      out[channel] = target;
    }
    return out;
  }

  private planFunction(f: SpecFunction, at: string): FunctionPlan | undefined {
    const spec = f.class_specification;
    const outputs = [...new Set(spec.outputs)];
    if (outputs.length < spec.outputs.length)
      this.warnings.push(`${at}.class_specification.outputs: a channel is listed twice; kept once`);
    const mapping = this.mapping(f.output_mapping, at, outputs);
    for (const p of placementProblems(f.annotations, this.options.node))
      this.issue(`${at}.annotations.${p.key}`, p.message);
    const max = maxInstances(
      Object.hasOwn(f.annotations, 'max_instances') ? f.annotations['max_instances'] : undefined,
    );
    if (typeof max !== 'number') this.issue(`${at}.annotations.${max.key}`, max.message);

    const codeAt = `${at}.class_specification.code`;
    if (spec.function_type === 'RUST_WASM') {
      this.issue(
        `${at}.class_specification.function_type`,
        'RUST_WASM functions are not run by Skiff yet: serve the function over the guest API and attach it as CONTAINER with grpc:<url>',
      );
      return undefined;
    }
    if (spec.function_type !== 'CONTAINER') {
      this.issue(
        `${at}.class_specification.function_type`,
        `unknown function type ${JSON.stringify(spec.function_type)}: use CONTAINER (or RUST_WASM)`,
      );
      return undefined;
    }
    if (spec.code === undefined) {
      this.issue(codeAt, 'a CONTAINER function needs code: grpc:<url> or container:<image>:<tag>');
      return undefined;
    }
    const attach = containerAttach(spec.code, this.options.ociRunner);
    if (typeof attach === 'string') {
      this.issue(codeAt, attach);
      return undefined;
    }
    return {
      name: f.name,
      id: spec.id,
      version: spec.version,
      attach,
      outputs,
      mapping,
      initPayload: Object.hasOwn(f.annotations, 'init-payload') ? (f.annotations['init-payload'] ?? '') : '',
      maxInstances: typeof max === 'number' ? max : 0,
      annotations: { ...f.annotations },
    };
  }

  private planResource(r: SpecResource, at: string): FileLogPlan | undefined {
    const mapping = this.mapping(r.output_mapping, at);
    // Upstream also reads placement from a resource's configurations.
    for (const p of placementProblems(r.configurations, this.options.node))
      this.issue(`${at}.configurations.${p.key}`, p.message);
    if (r.class_type !== 'file-log') {
      this.issue(
        `${at}.class_type`,
        `resource type not supported by Skiff: ${JSON.stringify(r.class_type)} (supported: file-log)`,
      );
      return undefined;
    }
    if (Object.keys(mapping).length > 0)
      this.warnings.push(`${at}.output_mapping: file-log has no outputs; this mapping is never used`);
    const config = fileLogConfig(r.configurations, this.options.fileLogDir);
    if (Array.isArray(config)) {
      for (const p of config) this.issue(`${at}.configurations.${p.key}`, p.message);
      return undefined;
    }
    return { name: r.name, type: 'file-log', ...config, mapping };
  }
}
