import { describe, expect, it } from 'vitest';
import {
  cls,
  doubler,
  fn,
  LOG_DIR,
  NODE,
  OPTIONS,
  refusal,
  refused,
  res,
} from '../../../test/helpers/edgeless-workflow.js';
import { planEdgelessWorkflow, readEdgelessWorkflow } from './workflow-json.js';

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

  it('refuses malformed container images even with a runner; a missing tag is latest; a registry port is no tag', () => {
    const doc = doubler();
    const runner = { ...OPTIONS, ociRunner: true };
    const attach = (code: string): unknown => {
      cls(doc)['code'] = code;
      return planEdgelessWorkflow(doc, runner).functions[0]?.attach;
    };
    expect(attach('container:python-function')).toEqual({
      container: { image: 'python-function', tag: 'latest' },
    });
    expect(attach('container:reg:5000/fn')).toEqual({ container: { image: 'reg:5000/fn', tag: 'latest' } });
    expect(attach('container:reg:5000/fn:1.0')).toEqual({ container: { image: 'reg:5000/fn', tag: '1.0' } });
    for (const code of [
      'container:',
      'container:fn:',
      'container:fn:bad tag',
      'container:-fn:1',
      'container:fn@sha256:ab',
    ]) {
      cls(doc)['code'] = code;
      expect(refused(doc, runner), code).toContain('invalid container image');
    }
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
