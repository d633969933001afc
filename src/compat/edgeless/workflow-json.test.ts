import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import {
  planEdgelessWorkflow,
  readEdgelessWorkflow,
  type NodeDescription,
  type WorkflowJsonOptions,
} from './workflow-json.js';
import { NAME_PATTERN } from '../../model/spec.js';
import { EDGELESS_WORKFLOW_LIMITS, skiffName } from './workflow-plan.js';

const LOG_DIR = '/var/lib/skiff/edgeless-logs';
const NODE: NodeDescription = {
  id: '8a7f2c3e-1b4d-4e5f-9a6b-7c8d9e0f1a2b',
  labels: ['edge', 'camera'],
  resources: ['file-log-1'],
  tee: false,
  tpm: true,
};
const OPTIONS: WorkflowJsonOptions = { ociRunner: false, fileLogDir: LOG_DIR, node: NODE };

/** The workflow of the compatibility contract: one attached function feeding a file-log. */
function doubler(): Record<string, unknown> {
  return {
    functions: [
      {
        name: 'doubler',
        class_specification: {
          id: 'doubler',
          function_type: 'CONTAINER',
          version: '1.0',
          code: 'grpc:http://127.0.0.1:7101',
          outputs: ['out'],
        },
        output_mapping: { out: 'audit' },
        annotations: { 'init-payload': 'factor=2' },
      },
    ],
    resources: [
      {
        name: 'audit',
        class_type: 'file-log',
        output_mapping: {},
        configurations: { filename: 'audit.log', 'add-timestamp': 'true' },
      },
    ],
    annotations: {},
  };
}

type Doc = ReturnType<typeof doubler>;
const fn = (doc: Doc, i = 0): Record<string, unknown> => (doc['functions'] as Record<string, unknown>[])[i]!;
const cls = (doc: Doc, i = 0): Record<string, unknown> =>
  fn(doc, i)['class_specification'] as Record<string, unknown>;
const res = (doc: Doc, i = 0): Record<string, unknown> => (doc['resources'] as Record<string, unknown>[])[i]!;

function refusal(value: unknown, options: WorkflowJsonOptions = OPTIONS): SkiffError {
  try {
    planEdgelessWorkflow(value, options);
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error('the workflow was accepted');
}

/** The message of a refusal; it is always SKIFF_E_INVALID_SPEC. */
function refused(value: unknown, options: WorkflowJsonOptions = OPTIONS): string {
  const err = refusal(value, options);
  expect(err.code).toBe('SKIFF_E_INVALID_SPEC');
  return err.message;
}

describe('EDGELESS workflow JSON: accepted', () => {
  it('plans the contract example: attachment, init payload, mapping, the file-log inside the log directory', () => {
    const plan = planEdgelessWorkflow(doubler(), OPTIONS);
    expect(plan).toEqual({
      functions: [
        {
          name: 'doubler',
          id: 'doubler',
          version: '1.0',
          attach: { url: 'http://127.0.0.1:7101' },
          outputs: ['out'],
          mapping: { out: 'audit' },
          initPayload: 'factor=2',
          maxInstances: 0,
          annotations: { 'init-payload': 'factor=2' },
        },
      ],
      resources: [
        {
          name: 'audit',
          type: 'file-log',
          file: `${LOG_DIR}/audit.log`,
          addSourceId: false,
          addTimestamp: true,
          mapping: {},
        },
      ],
      annotations: {},
      warnings: [],
    });
  });

  it("accepts upstream's container example once an OCI runner is configured, mapping an undeclared output as upstream does", () => {
    // examples/container/workflow-python.json upstream, its WASM sensor replaced by an attached function.
    const doc = {
      functions: [
        {
          name: 'sensor_simulator',
          class_specification: {
            id: 'sensor_simulator',
            function_type: 'CONTAINER',
            version: '0.1',
            code: 'grpc:http://10.1.1.1:7101/',
            outputs: ['output'],
          },
          output_mapping: { output: 'delay' },
          annotations: { 'init-payload': 'period=1000,min-value=-10,max-value=10,seed=42' },
        },
        {
          name: 'delay',
          class_specification: {
            id: 'delay',
            function_type: 'CONTAINER',
            version: '0.1',
            code: 'container:python-function:latest',
            outputs: [],
          },
          output_mapping: { output: 'my-log' },
          annotations: {},
        },
      ],
      resources: [
        {
          name: 'my-log',
          class_type: 'file-log',
          output_mapping: {},
          configurations: { filename: 'my-local-file.log', 'add-timestamp': 'true' },
        },
      ],
      annotations: {},
    };
    const plan = readEdgelessWorkflow(JSON.stringify(doc, null, 4), { ...OPTIONS, ociRunner: true });
    expect(plan.functions.map((f) => [f.name, f.attach])).toEqual([
      ['sensor_simulator', { url: 'http://10.1.1.1:7101' }],
      ['delay', { container: { image: 'python-function', tag: 'latest' } }],
    ]);
    expect(plan.functions[1]?.mapping).toEqual({ output: 'my-log' });
    expect(plan.warnings).toEqual([
      'functions[1].output_mapping.output: channel not declared in class_specification.outputs; mapped anyway (as upstream)',
    ]);
  });

  it('takes missing maps as empty, ignores unknown fields, keeps names as written', () => {
    const doc = {
      functions: [
        {
          name: 'Stage_1.fn',
          class_specification: {
            id: 'x',
            function_type: 'CONTAINER',
            version: '',
            code: 'grpc:https://[::1]:443',
            outputs: [],
            build: 'Cargo.toml',
          },
          replication_factor: 2,
        },
      ],
    };
    const plan = planEdgelessWorkflow(doc, OPTIONS);
    expect(plan.functions[0]).toMatchObject({
      name: 'Stage_1.fn',
      attach: { url: 'https://[::1]:443' },
      mapping: {},
      annotations: {},
      initPayload: '',
    });
    expect(plan.resources).toEqual([]);
    expect(Object.keys(plan.functions[0]!)).not.toContain('replication_factor');
  });

  it('reads max_instances and the flags of file-log; warns about unused workflow annotations', () => {
    const doc = doubler();
    fn(doc)['annotations'] = { max_instances: '3' };
    res(doc)['configurations'] = { filename: 'sub/a.log', 'add-source-id': '', 'add-timestamp': 'FALSE' };
    doc['annotations'] = { slo: 'fast' };
    const plan = planEdgelessWorkflow(doc, OPTIONS);
    expect(plan.functions[0]?.maxInstances).toBe(3);
    expect(plan.resources[0]).toMatchObject({
      file: `${LOG_DIR}/sub/a.log`,
      addSourceId: true,
      addTimestamp: false,
    });
    expect(plan.annotations).toEqual({ slo: 'fast' });
    expect(plan.warnings).toEqual([
      'annotations: workflow annotations are accepted and not used (as upstream)',
    ]);
  });

  it('passes placement this node satisfies', () => {
    const doc = doubler();
    fn(doc)['annotations'] = {
      node_id_match_any: `00000000-0000-0000-0000-000000000001, ${NODE.id.toUpperCase()}`,
      label_match_all: 'edge,camera',
      resource_match_all: 'file-log-1',
      tee: 'not-required',
      tpm: 'Required',
    };
    expect(planEdgelessWorkflow(doc, OPTIONS).functions[0]?.annotations['tpm']).toBe('Required');
  });
});

describe('EDGELESS workflow JSON: the rejections of the contract', () => {
  it('refuses container: without an OCI runner, naming the field and the way out', () => {
    const doc = doubler();
    cls(doc)['code'] = 'container:python-function:latest';
    expect(refused(doc)).toContain(
      'functions[0].class_specification.code: container:python-function:latest needs an OCI runner',
    );
    expect(refused(doc)).toContain('grpc:<url>');
  });

  it('refuses another prefix and a code without a colon with upstream texts', () => {
    const doc = doubler();
    const fns = doc['functions'] as unknown[];
    fns.push(structuredClone(fns[0]));
    fn(doc, 1)['name'] = 'second';
    cls(doc, 1)['code'] = 'ftp:x';
    expect(refused(doc)).toContain(
      'functions[1].class_specification.code: container function type not implemented: ftp',
    );
    cls(doc, 1)['code'] = 'nocolon';
    expect(refused(doc)).toContain(
      'functions[1].class_specification.code: invalid container function specifier: nocolon',
    );
  });

  it('refuses duplicate names across functions and resources', () => {
    const doc = doubler();
    res(doc)['name'] = 'doubler';
    fn(doc)['output_mapping'] = {};
    expect(refused(doc)).toContain(
      'resources[0].name: "doubler" is already the name of functions[0]: names are unique',
    );
  });

  it('refuses mappings to unknown names, from functions and from resources', () => {
    const doc = doubler();
    fn(doc)['output_mapping'] = { out: 'nowhere' };
    res(doc)['output_mapping'] = { x: 'missing' };
    const message = refused(doc);
    expect(message).toContain('functions[0].output_mapping.out: unknown target "nowhere"');
    expect(message).toContain('resources[0].output_mapping.x: unknown target "missing"');
  });

  it('refuses empty or missing functions, and a document that is not a workflow', () => {
    const doc = doubler();
    doc['functions'] = [];
    expect(refused(doc)).toContain('functions: a workflow has at least one function');
    delete doc['functions'];
    expect(refused(doc)).toContain('functions:');
    expect(refused([])).toContain('(root):');
    expect(() => readEdgelessWorkflow('{"functions": [', OPTIONS)).toThrow(/\(root\): not JSON/);
  });

  it('refuses RUST_WASM and unknown function types, and CONTAINER without code', () => {
    const doc = doubler();
    cls(doc)['function_type'] = 'RUST_WASM';
    cls(doc)['code'] = './fn.wasm';
    expect(refused(doc)).toContain(
      'functions[0].class_specification.function_type: RUST_WASM functions are not run by Skiff yet',
    );
    cls(doc)['function_type'] = 'container';
    expect(refused(doc)).toContain('unknown function type "container": use CONTAINER');
    cls(doc)['function_type'] = 'CONTAINER';
    delete cls(doc)['code'];
    expect(refused(doc)).toContain('functions[0].class_specification.code: a CONTAINER function needs code');
  });

  it('refuses gRPC URLs that are not http(s)://host:port', () => {
    const doc = doubler();
    const cases: [string, string][] = [
      ['grpc:localhost:7101', 'is not http or https'],
      ['grpc:http://127.0.0.1', 'names no port'],
      ['grpc:http://127.0.0.1:80', ''],
      ['grpc:http://127.0.0.1:0', 'names no port'],
      ['grpc:http://u:p@host:7101', 'carries credentials'],
      ['grpc:http://host:7101/api', 'has a path, query or fragment'],
      ['grpc:not a url', 'invalid gRPC URL'],
    ];
    for (const [code, problem] of cases) {
      cls(doc)['code'] = code;
      if (problem === '')
        expect(planEdgelessWorkflow(doc, OPTIONS).functions[0]?.attach).toEqual({
          url: 'http://127.0.0.1:80',
        });
      else expect(refused(doc), code).toContain(problem);
    }
  });

  it('refuses malformed container images even with a runner; splits a registry port from the tag', () => {
    const doc = doubler();
    const runner = { ...OPTIONS, ociRunner: true };
    cls(doc)['code'] = 'container:python-function';
    expect(refused(doc, runner)).toContain('invalid container image "python-function"');
    cls(doc)['code'] = 'container:reg:5000/fn';
    expect(refused(doc, runner)).toContain('invalid container image');
    cls(doc)['code'] = 'container:reg:5000/fn:1.0';
    expect(planEdgelessWorkflow(doc, runner).functions[0]?.attach).toEqual({
      container: { image: 'reg:5000/fn', tag: '1.0' },
    });
  });

  it('collects every problem in one refusal with details.issues', () => {
    const doc = doubler();
    cls(doc)['code'] = 'ftp:x';
    fn(doc)['output_mapping'] = { out: 'nowhere' };
    const err = refusal(doc);
    expect((err.details as { issues: unknown[] }).issues).toEqual([
      { path: 'functions[0].output_mapping.out', message: expect.stringContaining('unknown target') },
      {
        path: 'functions[0].class_specification.code',
        message: 'container function type not implemented: ftp',
      },
    ]);
  });
});

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
