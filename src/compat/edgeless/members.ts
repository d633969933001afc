/**
 * What an EDGELESS workflow's plan becomes on this node, without I/O: the Skiff name of every
 * component (`<workflow>--<member>` for attached functions and file-log resources, the function's
 * own name for `skiff:<function>`), the names the dialect serves, each component's channel → target
 * table, and the Skiff workflow spec casts resolve with; or the refusal, naming every problem.
 */
import { createHash } from 'node:crypto';
import { NAME_PATTERN } from '../../model/spec.js';
import type { WorkflowSpec } from '../../model/workflow.js';
import { SkiffError } from '../../shared/errors.js';
import { parseWorkflow } from '../../shared/validate.js';
import { skiffName, type PlanIssue, type WorkflowPlan } from './workflow-plan.js';

export interface Members {
  /** EDGELESS name → Skiff name. */
  names: Map<string, string>;
  /** The Skiff names the dialect serves (attached functions and resources). */
  provides: string[];
  /** Skiff name → (channel → Skiff name of its target); `self` and unmapped channels left out. */
  mappings: Map<string, Map<string, string>>;
  spec: WorkflowSpec;
}

export interface MemberChecks {
  /** Endpoint keys (`endpointKey`) attached by other workflows → who holds them ("wf2--x (workflow wf2)"). */
  attachedElsewhere: ReadonlyMap<string, string>;
  /** How many instances the other workflows attach, and the most this node attaches in all. */
  attachedCount: number;
  maxInstances: number;
  /** Problems found before (an apply over a running workflow that `diffPlans` refuses). */
  refused: readonly string[];
}

/** The members of workflow `name`, or SKIFF_E_INVALID_SPEC naming every problem. */
export function membersOf(name: string, plan: WorkflowPlan, checks: MemberChecks): Members {
  const problems: PlanIssue[] = checks.refused.map((message) => ({ path: '(workflow)', message }));
  const names = new Map<string, string>();
  const provides: string[] = [];
  const own = (member: string, at: string): string => {
    const skiff = `${name}--${skiffName(member)}`;
    if (!NAME_PATTERN.test(skiff))
      problems.push({
        path: at,
        message: `the Skiff name ${skiff} of ${member} is longer than 63 characters: shorten the workflow or member name`,
      });
    provides.push(skiff);
    return skiff;
  };
  plan.functions.forEach((f, i) => {
    names.set(f.name, 'skiff' in f.attach ? f.attach.skiff : own(f.name, `functions[${i}].name`));
  });
  plan.resources.forEach((r, i) => names.set(r.name, own(r.name, `resources[${i}].name`)));
  problems.push(...urlProblems(plan, checks));
  const attached = plan.functions.filter((f) => 'url' in f.attach).length;
  if (attached + checks.attachedCount > checks.maxInstances)
    problems.push({
      path: 'functions',
      message: `this node attaches at most ${checks.maxInstances} instances (compat.edgeless.maxInstances); ${checks.attachedCount} are attached by other workflows`,
    });
  if (problems.length > 0)
    throw new SkiffError(
      'SKIFF_E_INVALID_SPEC',
      `EDGELESS workflow is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { details: { issues: problems } },
    );
  const mappings = new Map<string, Map<string, string>>();
  const functions: Record<string, Record<string, string[]>> = {};
  for (const component of [...plan.functions, ...plan.resources]) {
    const skiff = names.get(component.name) ?? '';
    const mapped = new Map<string, string>();
    for (const [channel, target] of Object.entries(component.mapping)) {
      const to = names.get(target);
      if (channel === 'self' || to === undefined) continue;
      mapped.set(channel, to);
    }
    mappings.set(skiff, mapped);
    functions[skiff] = Object.fromEntries([...mapped].map(([channel, to]) => [channel, [to]]));
  }
  const spec = parseWorkflow({ name, description: 'EDGELESS workflow JSON', functions }, `workflow ${name}`);
  return { names, provides, mappings, spec };
}

/**
 * An instance is one member's: a URL attached twice (in this workflow or by another) would be booted
 * by two members, each taking it from the other. Link-local and unspecified addresses (cloud
 * metadata services) are never dialled.
 */
function urlProblems(plan: WorkflowPlan, checks: MemberChecks): PlanIssue[] {
  const problems: PlanIssue[] = [];
  const seen = new Map(checks.attachedElsewhere);
  plan.functions.forEach((f, i) => {
    if (!('url' in f.attach)) return;
    const at = `functions[${i}].class_specification.code`;
    const { url } = f.attach;
    const key = endpointKey(url);
    const holder = seen.get(key);
    if (holder !== undefined)
      problems.push({
        path: at,
        message: `the instance at ${url} is already attached as ${holder}: an instance belongs to one member`,
      });
    seen.set(key, `functions[${i}]`);
    if (unreachableHost(new URL(url).hostname))
      problems.push({
        path: at,
        message: `${url} is a link-local, unspecified or cloud metadata address: Skiff does not dial it`,
      });
  });
  return problems;
}

/**
 * What a `http://host:port` URL reaches, as a key `host:port`: every loopback form (127/8, ::1,
 * ::ffff:127.x, `localhost`) is one `loopback`; other hosts as written (lower case). Two URLs with
 * one key reach the same process. Names are not resolved (docs/security.md).
 */
export function endpointKey(url: string): string {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return `${loopback(host) ? 'loopback' : host}:${port}`;
}

function loopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return /^127\./.test(a) || a === '::1' || a === 'localhost' || /^7f[0-9a-f]{2}:/.test(a);
}

/**
 * Link-local (169.254/16, fe80::/10: the cloud metadata range), unspecified, and AWS's IPv6 metadata
 * address fd00:ec2::254.
 */
export function unreachableHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = host.replace(/^::ffff:/, '');
  if (/^169\.254\./.test(v4) || v4 === '0.0.0.0') return true;
  if (host === 'fd00:ec2::254' || host === 'fd00:ec2:0:0:0:0:0:254') return true;
  // ::ffff:169.254.x.y as WHATWG URL writes it: ::ffff:a9fe:xxxx
  return host === '::' || /^::ffff:a9fe:/.test(host) || /^fe[89ab][0-9a-f]?:/.test(host);
}

/** A stable id for a Skiff function that is not an instance (a UUID made of its name's hash). */
export function stableId(nodeId: string, name: string): string {
  const h = createHash('sha1').update(`${nodeId}/${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
