/**
 * The typed plan an EDGELESS workflow JSON becomes (workflow-json.ts reads and checks it), the options
 * the check depends on, and the caps. Names stay as the file wrote them; mapping them onto Skiff's
 * function names is the caller's step (docs/compat/edgeless/workflows.md, "Names").
 */
import { ALIAS_PATTERN } from '../../model/workflow.js';

/** The caps of one workflow file (fixed; over one, the file is refused naming the field). */
export const EDGELESS_WORKFLOW_LIMITS = {
  /** Bytes of the JSON text. */
  maxBytes: 256 * 1024,
  /** Functions and resources together. */
  maxComponents: 64,
  /** Entries of one map (`output_mapping`, `annotations`, `configurations`) and of `outputs`. */
  maxEntries: 64,
  /** Characters of one annotation or configuration value (init payloads included). */
  maxValueChars: 64 * 1024,
  /** Characters of `class_specification.id`, `.version` and `.code`. */
  maxFieldChars: 4096,
} as const;

/**
 * A function or resource name and an output channel: 1-63 letters, digits, `_`, `.` and `-`, starting
 * with a letter or digit (Skiff's alias pattern). Upstream takes any string; every name in its
 * examples fits this.
 */
export const EDGELESS_NAME_PATTERN = ALIAS_PATTERN;

/**
 * The Skiff function name an EDGELESS name becomes where a member is a Skiff function: lower case, `_`
 * and `.` as `-`. It fits Skiff's NAME_PATTERN for every name EDGELESS_NAME_PATTERN accepts; two names
 * of one workflow that become the same Skiff name are refused (workflow-json.ts).
 */
export const skiffName = (name: string): string => name.toLowerCase().replace(/[_.]/g, '-');

/** An annotation or configuration key: 1-256 of letters, digits and `_ . : / -`, starting alphanumeric. */
export const EDGELESS_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,255}$/;

/**
 * How a CONTAINER function is reached: an instance already running at a URL, an image to run, or
 * (Skiff's extension, `skiff:<function>`) a function deployed on this Skiff.
 */
export type Attach = { url: string } | { container: { image: string; tag: string } } | { skiff: string };

export interface FunctionPlan {
  /** The name in the workflow, as written. */
  name: string;
  /** `class_specification.id` and `.version`: the code's identity. */
  id: string;
  version: string;
  attach: Attach;
  /** Declared output channels, each once, in the file's order. */
  outputs: string[];
  /** Output channel → name of a function or resource of the same workflow. */
  mapping: Record<string, string>;
  /** Annotation `init-payload`, or '' (what Init carries). */
  initPayload: string;
  /** Annotation `max_instances`; 0 (also when absent) means unlimited. */
  maxInstances: number;
  /** Every annotation as written, known keys included. */
  annotations: Record<string, string>;
}

export interface FileLogPlan {
  name: string;
  type: 'file-log';
  /** Absolute path of the log file, inside the file-log directory of the options. */
  file: string;
  addSourceId: boolean;
  addTimestamp: boolean;
  /** As for functions; file-log has no outputs, so a non-empty mapping is kept but never used. */
  mapping: Record<string, string>;
}

export interface WorkflowPlan {
  functions: FunctionPlan[];
  resources: FileLogPlan[];
  /** Workflow annotations: accepted and kept, not used (as upstream). */
  annotations: Record<string, string>;
  /** What was accepted but is probably not what the author meant (each names its field). */
  warnings: string[];
}

/** The one node a workflow runs on: what placement annotations are checked against. */
export interface NodeDescription {
  /** The node's UUID (what `node_id_match_any` lists and Boot announces). */
  id: string;
  labels: readonly string[];
  /** Resource provider ids the node hosts (what `resource_match_all` lists). */
  resources: readonly string[];
  tee: boolean;
  tpm: boolean;
}

export interface WorkflowJsonOptions {
  /** Whether an OCI runner is configured: without one, `container:<image>:<tag>` is refused. */
  ociRunner: boolean;
  /** The directory file-log resources write in; every `filename` must resolve inside it. */
  fileLogDir: string;
  /** The node to check placement annotations against; absent, they are only checked for form. */
  node?: NodeDescription;
}

/** One problem of a refused workflow: the field (`functions[1].class_specification.code`) and what. */
export interface PlanIssue {
  path: string;
  message: string;
}
