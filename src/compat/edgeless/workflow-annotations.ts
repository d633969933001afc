/**
 * The annotations EDGELESS reads from a function (and from a resource's configurations): `max_instances`
 * and the placement keys `node_id_match_any`, `label_match_all`, `resource_match_all`, `tee`, `tpm`.
 * Skiff is one node, so placement either holds on it or refuses the workflow, naming the annotation.
 * Stricter than upstream, which drops what it cannot parse (an unparsable UUID lifts the constraint,
 * an unparsable `max_instances` means unlimited).
 */
import type { NodeDescription } from './workflow-plan.js';

/** One problem with an annotation: its key and the sentence. */
export interface AnnotationProblem {
  key: string;
  message: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Comma-separated entries, trimmed, empty ones dropped (upstream keeps them untrimmed). */
const list = (value: string): string[] =>
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

/** `max_instances`: a decimal count, 0 (or absent) for unlimited. */
export function maxInstances(value: string | undefined): number | AnnotationProblem {
  if (value === undefined) return 0;
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (Number.isNaN(n))
    return { key: 'max_instances', message: `not a count: ${JSON.stringify(value)} (0 means unlimited)` };
  return n;
}

/** `tee` and `tpm` are required only when `"required"` (any case), as upstream reads them. */
const required = (value: string | undefined): boolean => value?.toLowerCase() === 'required';

/**
 * The placement annotations this node cannot satisfy, and any that cannot be read. Without a node,
 * only the form is checked.
 */
export function placementProblems(
  annotations: Readonly<Record<string, string>>,
  node: NodeDescription | undefined,
): AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  const get = (key: string): string | undefined =>
    Object.hasOwn(annotations, key) ? annotations[key] : undefined;

  const ids = get('node_id_match_any');
  if (ids !== undefined) {
    const entries = list(ids);
    const bad = entries.filter((entry) => !UUID.test(entry));
    if (bad.length > 0)
      problems.push({ key: 'node_id_match_any', message: `not a node UUID: ${bad.join(', ')}` });
    else if (node !== undefined && entries.length > 0) {
      const mine = node.id.toLowerCase();
      if (!entries.some((entry) => entry.toLowerCase() === mine))
        problems.push({
          key: 'node_id_match_any',
          message: `this node (${node.id}) is none of ${entries.join(', ')}`,
        });
    }
  }

  const labels = get('label_match_all');
  if (labels !== undefined && node !== undefined) {
    const missing = list(labels).filter((label) => !node.labels.includes(label));
    if (missing.length > 0)
      problems.push({
        key: 'label_match_all',
        message: `this node lacks the label(s) ${missing.join(', ')}`,
      });
  }

  const providers = get('resource_match_all');
  if (providers !== undefined && node !== undefined) {
    const missing = list(providers).filter((provider) => !node.resources.includes(provider));
    if (missing.length > 0)
      problems.push({
        key: 'resource_match_all',
        message: `this node hosts no resource provider ${missing.join(', ')}`,
      });
  }

  if (node !== undefined && required(get('tee')) && !node.tee)
    problems.push({
      key: 'tee',
      message: 'a Trusted Execution Environment is required; this node runs in none',
    });
  if (node !== undefined && required(get('tpm')) && !node.tpm)
    problems.push({ key: 'tpm', message: 'a Trusted Platform Module is required; this node has none' });
  return problems;
}
