/**
 * What applying a new plan over a running workflow's plan takes. As upstream's `Patch`, a changed
 * output mapping takes effect on the next event without restarting anything; a change of what an
 * instance was started with (code identity, attachment, init payload; a log's file or flags) needs
 * that component restarted (Stop, then Boot and Init again); components added are started and those
 * removed stopped. A name that turns from a function into a resource or back is refused: events in
 * flight would reach something else under the same name; remove it in one apply and add it in another.
 */
import type { FileLogPlan, FunctionPlan, WorkflowPlan } from './workflow-plan.js';

/** One output channel whose target changed (null: not mapped before / not mapped any more). */
export interface MappingChange {
  component: string;
  channel: string;
  from: string | null;
  to: string | null;
}

/** A component and the fields of its plan that changed. */
export interface ComponentChange {
  component: string;
  fields: string[];
}

export interface PlanDiff {
  /** Names to start, and names to stop. */
  added: string[];
  removed: string[];
  /** Mapping changes: applied live, effective on the next event. */
  mappings: MappingChange[];
  /** Changes that need the component's instances restarted. */
  restart: ComponentChange[];
  /** Changes applied without touching instances (`max_instances`, declared outputs, other annotations). */
  live: ComponentChange[];
  /** Why the new plan cannot be applied over the running one (empty: it can). */
  refused: string[];
}

type Component = { kind: 'function'; plan: FunctionPlan } | { kind: 'resource'; plan: FileLogPlan };

function components(plan: WorkflowPlan): Map<string, Component> {
  const out = new Map<string, Component>();
  for (const f of plan.functions) out.set(f.name, { kind: 'function', plan: f });
  for (const r of plan.resources) out.set(r.name, { kind: 'resource', plan: r });
  return out;
}

/** Key order does not matter; values are plain JSON. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

function changed<T extends object>(before: T, after: T, fields: readonly (keyof T & string)[]): string[] {
  return fields.filter((field) => !same(before[field], after[field]));
}

function mappingChanges(
  component: string,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): MappingChange[] {
  const channels = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: MappingChange[] = [];
  for (const channel of channels) {
    const from = Object.hasOwn(before, channel) ? (before[channel] ?? null) : null;
    const to = Object.hasOwn(after, channel) ? (after[channel] ?? null) : null;
    if (from !== to) out.push({ component, channel, from, to });
  }
  return out;
}

const FUNCTION_RESTART = ['id', 'version', 'attach', 'initPayload'] as const;
const FUNCTION_LIVE = ['maxInstances', 'outputs', 'annotations'] as const;
const RESOURCE_RESTART = ['file', 'addSourceId', 'addTimestamp'] as const;

export function diffPlans(before: WorkflowPlan, after: WorkflowPlan): PlanDiff {
  const old = components(before);
  const now = components(after);
  const diff: PlanDiff = { added: [], removed: [], mappings: [], restart: [], live: [], refused: [] };
  for (const name of [...old.keys()].sort()) if (!now.has(name)) diff.removed.push(name);
  for (const [name, next] of [...now.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const prev = old.get(name);
    if (prev === undefined) {
      diff.added.push(name);
      continue;
    }
    if (prev.kind !== next.kind) {
      diff.refused.push(
        `${JSON.stringify(name)} changes from a ${prev.kind} to a ${next.kind}: remove it in one apply and add it in another, or rename it`,
      );
      continue;
    }
    diff.mappings.push(...mappingChanges(name, prev.plan.mapping, next.plan.mapping));
    let restart: string[];
    let live: string[] = [];
    if (prev.kind === 'function' && next.kind === 'function') {
      restart = changed(prev.plan, next.plan, FUNCTION_RESTART);
      live = changed(prev.plan, next.plan, FUNCTION_LIVE);
    } else restart = changed(prev.plan as FileLogPlan, next.plan as FileLogPlan, RESOURCE_RESTART);
    if (restart.length > 0) diff.restart.push({ component: name, fields: restart });
    if (live.length > 0) diff.live.push({ component: name, fields: live });
  }
  return diff;
}
