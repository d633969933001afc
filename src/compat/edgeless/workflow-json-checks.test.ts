import { describe, expect, it } from 'vitest';
import {
  cls,
  doubler,
  fn,
  LOG_DIR,
  NODE,
  OPTIONS,
  refused,
  res,
  type Doc,
} from '../../../test/helpers/edgeless-workflow.js';
import { NAME_PATTERN } from '../../model/spec.js';
import { planEdgelessWorkflow, readEdgelessWorkflow } from './workflow-json.js';
import { EDGELESS_WORKFLOW_LIMITS, skiffName } from './workflow-plan.js';

describe('EDGELESS workflow JSON: placement on this node', () => {
  const withAnnotations = (annotations: Record<string, string>): Doc => {
    const doc = doubler();
    fn(doc)['annotations'] = annotations;
    return doc;
  };

  it('names each annotation this node cannot satisfy', () => {
    const message = refused(
      withAnnotations({
        node_id_match_any: '00000000-0000-0000-0000-000000000001',
        label_match_all: 'edge,gpu',
        resource_match_all: 'redis-1',
        tee: 'required',
      }),
    );
    expect(message).toContain(
      `functions[0].annotations.node_id_match_any: this node (${NODE.id}) is none of`,
    );
    expect(message).toContain('functions[0].annotations.label_match_all: this node lacks the label(s) gpu');
    expect(message).toContain(
      'functions[0].annotations.resource_match_all: this node hosts no resource provider redis-1',
    );
    expect(message).toContain('functions[0].annotations.tee: a Trusted Execution Environment is required');
    expect(
      refused(withAnnotations({ tpm: 'REQUIRED' }), { ...OPTIONS, node: { ...NODE, tpm: false } }),
    ).toContain('functions[0].annotations.tpm: a Trusted Platform Module is required');
  });

  it('refuses unreadable node ids and counts, which upstream would silently drop', () => {
    expect(refused(withAnnotations({ node_id_match_any: 'node-1' }))).toContain(
      'annotations.node_id_match_any: not a node UUID: node-1',
    );
    expect(refused(withAnnotations({ max_instances: 'two' }))).toContain(
      'annotations.max_instances: not a count: "two"',
    );
    expect(refused(withAnnotations({ max_instances: '-1' }))).toContain('not a count');
  });

  it('checks only the form without a node', () => {
    const { node: _, ...noNode } = OPTIONS;
    const doc = withAnnotations({ label_match_all: 'gpu', tee: 'required' });
    expect(planEdgelessWorkflow(doc, noNode).functions).toHaveLength(1);
    expect(refused(withAnnotations({ node_id_match_any: 'x' }), noNode)).toContain('not a node UUID');
  });

  it("checks a resource's configurations for placement, as upstream does", () => {
    const doc = doubler();
    res(doc)['configurations'] = { filename: 'a.log', label_match_all: 'gpu' };
    expect(refused(doc)).toContain(
      'resources[0].configurations.label_match_all: this node lacks the label(s) gpu',
    );
  });
});

describe('EDGELESS workflow JSON: resources', () => {
  const withFile = (filename: string | undefined, extra: Record<string, string> = {}): Doc => {
    const doc = doubler();
    res(doc)['configurations'] = filename === undefined ? extra : { filename, ...extra };
    return doc;
  };

  it('keeps file-log files inside the log directory', () => {
    expect(refused(withFile('../escape.log'))).toContain(
      'resources[0].configurations.filename: "../escape.log" must not contain ..',
    );
    expect(refused(withFile('a/../../b.log'))).toContain('must not contain ..');
    expect(refused(withFile('/etc/passwd'))).toContain('"/etc/passwd" is outside the log directory');
    expect(refused(withFile(`${LOG_DIR}-other/x.log`))).toContain('is outside the log directory');
    expect(refused(withFile('.'))).toContain('is outside the log directory');
    expect(refused(withFile('logs/'))).toContain('names a directory');
    expect(refused(withFile(''))).toContain('is empty');
    expect(refused(withFile(undefined))).toContain(
      'resources[0].configurations.filename: file-log needs a filename',
    );
    expect(planEdgelessWorkflow(withFile('..notes.log'), OPTIONS).resources[0]?.file).toBe(
      `${LOG_DIR}/..notes.log`,
    );
    expect(planEdgelessWorkflow(withFile(`${LOG_DIR}/in/side.log`), OPTIONS).resources[0]?.file).toBe(
      `${LOG_DIR}/in/side.log`,
    );
  });

  it('refuses flags other than true/false', () => {
    expect(refused(withFile('a.log', { 'add-timestamp': 'yes' }))).toContain(
      'resources[0].configurations.add-timestamp: use "true" or "false", not "yes"',
    );
  });

  it('refuses other resource types naming them; warns about a file-log mapping', () => {
    const doc = doubler();
    res(doc)['class_type'] = 'http-ingress';
    expect(refused(doc)).toContain(
      'resources[0].class_type: resource type not supported by Skiff: "http-ingress"',
    );
    const mapped = doubler();
    res(mapped)['output_mapping'] = { new_request: 'doubler' };
    expect(planEdgelessWorkflow(mapped, OPTIONS).warnings).toEqual([
      'resources[0].output_mapping: file-log has no outputs; this mapping is never used',
    ]);
  });
});

describe('EDGELESS workflow JSON: caps and names', () => {
  const many = (functions: number, resources: number): Doc => {
    const doc = doubler();
    const f0 = fn(doc);
    const r0 = res(doc);
    doc['functions'] = Array.from({ length: functions }, (_, i) => ({
      ...f0,
      name: `f${i}`,
      output_mapping: {},
    }));
    doc['resources'] = Array.from({ length: resources }, (_, i) => ({ ...r0, name: `r${i}` }));
    return doc;
  };

  it('takes 64 functions and resources together, refuses 65', () => {
    const { maxComponents } = EDGELESS_WORKFLOW_LIMITS;
    expect(planEdgelessWorkflow(many(maxComponents - 1, 1), OPTIONS).functions).toHaveLength(
      maxComponents - 1,
    );
    expect(refused(many(maxComponents, 1))).toContain(
      'at most 64 functions and resources together (65 here)',
    );
  });

  it('refuses a file over 256 KiB before parsing it', () => {
    const big = JSON.stringify({ ...doubler(), pad: 'x'.repeat(EDGELESS_WORKFLOW_LIMITS.maxBytes) });
    expect(() => readEdgelessWorkflow(big, OPTIONS)).toThrow(/at most 262144 are read/);
    expect(() => readEdgelessWorkflow(Buffer.from(big), OPTIONS)).toThrow(/at most 262144 are read/);
  });

  it('maps names onto Skiff names and refuses two that meet there', () => {
    expect(skiffName('Stage_1.fn')).toBe('stage-1-fn');
    expect(NAME_PATTERN.test(skiffName('A'.repeat(63)))).toBe(true);
    const doc = doubler();
    res(doc)['name'] = 'Doubler';
    fn(doc)['output_mapping'] = {};
    expect(refused(doc)).toContain(
      'resources[0].name: "Doubler" and "doubler" (functions[0]) both become the Skiff name doubler: rename one',
    );
  });

  it('refuses names and channels outside the safe set, and non-string map values', () => {
    for (const name of ['', 'a'.repeat(64), '-lead', 'has space', 'ü']) {
      const doc = doubler();
      fn(doc)['name'] = name;
      fn(doc)['output_mapping'] = {};
      expect(refused(doc), name).toContain('functions[0].name: a name is 1-63 letters');
    }
    const doc = doubler();
    cls(doc)['outputs'] = ['ok', 'not ok'];
    expect(refused(doc)).toContain('functions[0].class_specification.outputs[1]: an output channel is');
    const numeric = doubler();
    fn(numeric)['annotations'] = { max_instances: 3 };
    expect(refused(numeric)).toContain('functions[0].annotations.max_instances:');
    const badKey = doubler();
    fn(badKey)['output_mapping'] = { 'bad channel': 'audit' };
    expect(refused(badKey)).toContain('functions[0].output_mapping.bad channel: an output channel is 1-63');
    const proto = doubler();
    fn(proto)['annotations'] = JSON.parse('{"__proto__": "x", "k": "v"}') as unknown;
    const kept = planEdgelessWorkflow(proto, OPTIONS).functions[0]!.annotations;
    expect(Object.hasOwn(kept, '__proto__')).toBe(false);
    expect(kept).toEqual({ k: 'v' });
  });
});
