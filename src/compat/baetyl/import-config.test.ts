import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import {
  brokerKey,
  detectFormat,
  planImport,
  type ImportInput,
  type PlatformFacts,
} from './import-config.js';
import { resolveRuntime } from './import-runtime.js';

const FACTS: PlatformFacts = {
  maxInstancesCeiling: 20,
  maxTimeoutMs: 300_000,
  maxMessageBytes: 4_194_304,
  brokerUrl: 'mqtt://127.0.0.1:1883',
};

const plan = (text: string, extra: Partial<ImportInput> = {}, facts: PlatformFacts = FACTS) =>
  planImport({ config: { name: 'service.yml', text }, ...extra }, facts);

/** The refusal's message (fails the test when the import is accepted or fails otherwise). */
function refusal(text: string, extra: Partial<ImportInput> = {}): string {
  try {
    plan(text, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('SKIFF_E_INVALID_SPEC');
    expect((err as SkiffError).status).toBe(400);
    return (err as SkiffError).message;
  }
  throw new Error('the import was accepted');
}

const V1 = `
hub: {address: "tcp://127.0.0.1:1883"}
rules:
  - clientid: alerts-1
    subscribe: {topic: sensors/temp, qos: 1}
    function: {name: alert}
    publish: {topic: sensors/alerts, qos: 1}
    retry: {max: 3}
functions:
  - name: alert
    service: py-runtime
    handler: index.handler
    codedir: var/db/baetyl/alert
    instance: {min: 0, max: 4, idletime: 1m}
    timeout: 10s
`;

const fn1 = (body: string) => `functions:\n  - name: f\n    service: s\n    handler: index.handler\n${body}`;

describe('a Baetyl 1.0 function-manager configuration', () => {
  it('maps functions and rules with the values given', () => {
    const p = plan(V1);
    expect(p.format).toBe('baetyl');
    expect(p.functions).toEqual([
      {
        name: 'alert',
        service: 'py-runtime',
        handler: 'index.handler',
        codedir: 'var/db/baetyl/alert',
        env: {},
        scaling: { minInstances: 0, maxInstances: 4, idleTimeoutMs: 60_000, concurrency: 1 },
        timeoutMs: 10_000,
        maxMessageBytes: 4194304,
        mqtt: [
          {
            subscribe: 'sensors/temp',
            publish: 'sensors/alerts',
            qos: 1,
            publishQos: 1,
            attempts: 3,
            onError: 'publish',
            maxPayloadBytes: 4194304,
          },
        ],
      },
    ]);
    expect(p.services).toEqual({ 'py-runtime': ['alert'] });
    expect(p.hub).toEqual({ address: 'tcp://127.0.0.1:1883', sameAsSkiff: true });
    expect(p.warnings).toEqual([]);
  });

  it("applies upstream's defaults", () => {
    const p = plan(
      `${fn1('')}rules:\n  - subscribe: {topic: a}\n    function: {name: f}\n    publish: {topic: b}\n`,
    );
    const [f] = p.functions;
    expect(f?.scaling).toEqual({ minInstances: 0, maxInstances: 1, idleTimeoutMs: 600_000, concurrency: 1 });
    expect(f?.timeoutMs).toBe(30_000);
    expect(f?.codedir).toBe('');
    expect(f?.mqtt).toEqual([
      {
        subscribe: 'a',
        publish: 'b',
        qos: 0,
        publishQos: 0,
        attempts: 3,
        onError: 'publish',
        maxPayloadBytes: 4194304,
      },
    ]);
    expect(p.hub).toBeUndefined();
  });

  it('refuses name `a b`, max 0 and max 101, naming the key', () => {
    expect(refusal(V1.replaceAll('name: alert', 'name: a b'))).toMatch(
      /^service\.yml: functions\[0\]\.name: "a b" is not a function name/,
    );
    expect(refusal(V1.replace('max: 4', 'max: 0'))).toMatch(
      /^service\.yml: functions\[0\]\.instance\.max: 0 is out of range 1–100/,
    );
    expect(refusal(V1.replace('max: 4', 'max: 101'))).toMatch(
      /functions\[0\]\.instance\.max: 101 is out of range/,
    );
    expect(refusal(V1.replace('min: 0', 'min: 101'))).toMatch(
      /functions\[0\]\.instance\.min: 101 is out of range 0–100/,
    );
    expect(refusal(V1.replace('min: 0', 'min: 5'))).toMatch(/instance\.min: 5 is above instance\.max \(4\)/);
    expect(refusal(V1.replace('max: 4', 'max: two'))).toMatch(/instance\.max: must be a whole number/);
  });

  it('refuses a valid Baetyl name that Skiff cannot take, suggesting one', () => {
    const text = V1.replaceAll('name: alert', 'name: Temp_Alert');
    expect(refusal(text)).toMatch(
      /"Temp_Alert" is a valid Baetyl name but Skiff function names .* "temp-alert"/,
    );
    expect(refusal(fn1('').replace('name: f', `name: ${'a'.repeat(141)}`))).toMatch(/is not a function name/);
  });

  it('refuses bad durations, missing keys and rules naming no function', () => {
    expect(refusal(V1.replace('timeout: 10s', 'timeout: 10'))).toMatch(
      /functions\[0\]\.timeout: 10 has no unit/,
    );
    expect(refusal(V1.replace('timeout: 10s', 'timeout: 0s'))).toMatch(
      /functions\[0\]\.timeout: must be longer than 0/,
    );
    expect(refusal(V1.replace('idletime: 1m', 'idletime: soon'))).toMatch(
      /instance\.idletime: "soon" is not a duration/,
    );
    expect(refusal(V1.replace('idletime: 1m', 'idletime: 50ms'))).toMatch(
      /instance\.idletime: Skiff stops idle/,
    );
    expect(refusal(V1.replace('    service: py-runtime\n', ''))).toMatch(
      /functions\[0\]\.service: is required/,
    );
    expect(refusal(V1.replace('{name: alert}', '{name: other}'))).toMatch(
      /rules\[0\]\.function\.name: no function named "other" in functions/,
    );
    expect(refusal(V1.replace('{topic: sensors/alerts, qos: 1}', '{qos: 1}'))).toMatch(
      /rules\[0\]\.publish\.topic: is required/,
    );
    expect(refusal(V1.replace('{topic: sensors/temp, qos: 1}', '{topic: sensors/temp, qos: 2}'))).toMatch(
      /rules\[0\]\.subscribe\.qos: 2 is not a QoS/,
    );
    expect(refusal(V1.replace('sensors/alerts', 'sensors/#'))).toMatch(/^service\.yml: rules\[0\]: /);
    expect(refusal(V1.replace('    handler: index.handler\n', ''))).toMatch(
      /functions\[0\]: function "alert" has no handler/,
    );
    expect(refusal(`${V1}  - name: alert\n    service: s\n    handler: a.b\n`)).toMatch(
      /"alert" is given twice/,
    );
    expect(refusal(V1.replace('codedir: var/db/baetyl/alert', 'codedir: ../../etc'))).toMatch(
      /functions\[0\]\.codedir: "..\/..\/etc" goes outside the imported folder/,
    );
    expect(refusal('rules: 3')).toMatch(/^service\.yml: rules: must be a list/);
    expect(refusal('a: [')).toMatch(/^service\.yml: not valid YAML/);
    expect(refusal('a: 1\na: 2')).toMatch(/not valid YAML/);
    expect(refusal('- 1')).toMatch(/must be a mapping/);
  });

  it('takes at most 100 functions in one import', () => {
    const many = (n: number) =>
      `functions:\n${Array.from({ length: n }, (_, i) => `  - {name: f${i}, service: s, handler: a.b}\n`).join('')}`;
    expect(plan(many(100)).functions).toHaveLength(100);
    expect(refusal(many(101))).toMatch(
      /^service\.yml: functions: 101 functions; one import takes at most 100/,
    );
  });

  it('reads the retry count: 0 is one attempt, more than 10 is lowered with a warning', () => {
    const rule = (max: string) =>
      `${fn1('')}rules:\n  - subscribe: {topic: a}\n    function: {name: f}\n    publish: {topic: b}\n    retry: {max: ${max}}\n`;
    expect(plan(rule('1')).functions[0]?.mqtt[0]?.attempts).toBe(1);
    expect(plan(rule('0')).functions[0]?.mqtt[0]?.attempts).toBe(1);
    const many = plan(rule('50'));
    expect(many.functions[0]?.mqtt[0]?.attempts).toBe(10);
    expect(many.warnings).toEqual([expect.stringMatching(/rules\[0\]: retry\.max 50 is lowered to 10/)]);
    expect(refusal(rule('x'))).toMatch(/rules\[0\]\.retry\.max: must be a whole number/);
  });

  it('warns when subscribe.qos is 1 and publish.qos is unset (issue #223), keeping QoS 0', () => {
    const p = plan(V1.replace('{topic: sensors/alerts, qos: 1}', '{topic: sensors/alerts}'));
    expect(p.functions[0]?.mqtt[0]).toMatchObject({ qos: 1, publishQos: 0 });
    expect(p.warnings).toEqual([
      expect.stringMatching(/^rules\[0\]: subscribe\.qos is 1 and publish\.qos is not set.*#223/),
    ]);
  });

  it("warns when the hub is not Skiff's broker, or names credentials", () => {
    const p = plan(V1.replace('tcp://127.0.0.1:1883', 'tcp://baetyl-hub:1883'));
    expect(p.hub).toEqual({ address: 'tcp://baetyl-hub:1883', sameAsSkiff: false });
    expect(p.warnings[0]).toMatch(
      /hub\.address tcp:\/\/baetyl-hub:1883 is not Skiff's MQTT broker \(mqtt:\/\/127\.0\.0\.1:1883\)/,
    );
    expect(plan(V1.replace('tcp://127.0.0.1:1883', 'tcp://localhost')).hub?.sameAsSkiff).toBe(true);
    const creds = plan(
      V1.replace('"tcp://127.0.0.1:1883"', '"tcp://127.0.0.1:1883", username: u, password: p'),
    );
    expect(creds.warnings).toEqual([
      expect.stringMatching(/username, password and certificates are not used/),
    ]);
    expect(
      planImport({ config: { name: 'c', text: V1 } }, { ...FACTS, brokerUrl: undefined }).hub?.sameAsSkiff,
    ).toBe(false);
  });

  it('never shows user names and passwords of broker addresses', () => {
    const p = planImport(
      { config: { name: 'c', text: V1.replace('tcp://127.0.0.1:1883', 'tcp://u:secret@hub:1883') } },
      { ...FACTS, brokerUrl: 'mqtt://skiff:hidden@127.0.0.1:1883' },
    );
    expect(p.hub?.address).toBe('tcp://hub:1883');
    expect(p.warnings.join('\n')).not.toMatch(/secret|hidden/);
  });

  it('takes YAML anchors and merge keys, as Go does', () => {
    const p = plan(
      'x: &inst {max: 3, idletime: 2m}\nfunctions:\n  - name: f\n    service: s\n    handler: a.b\n    instance: {<<: *inst, min: 1}\n',
    );
    expect(p.functions[0]?.scaling).toEqual({
      minInstances: 1,
      maxInstances: 3,
      idleTimeoutMs: 120_000,
      concurrency: 1,
    });
  });

  it("lowers max to the platform's ceiling, warns of long timeouts, keeps message limits per function", () => {
    const p = plan(
      fn1('    instance: {min: 30, max: 50}\n    timeout: 10m\n    message: {length: {max: 1024}}\n'),
    );
    expect(p.functions[0]?.scaling).toMatchObject({ minInstances: 20, maxInstances: 20 });
    expect(p.warnings).toHaveLength(2);
    expect(p.warnings.join('\n')).toMatch(/instance\.max: 50 is lowered to 20/);
    expect(p.warnings.join('\n')).toMatch(/timeout: 600000 ms is longer/);
    expect(p.functions[0]?.maxMessageBytes).toBe(1024);
    expect(plan(fn1('    message: {length: {max: 4194304}}\n')).warnings).toEqual([]);
  });

  it("takes handler and codedir from the runtime's own file, by name", () => {
    const manager =
      'functions:\n  - name: sayhi\n    service: function-python\n    instance: {max: 2}\n  - name: sayjs\n    service: function-node\n';
    const python =
      "functions:\n  - name: 'sayhi'\n    handler: 'index.handler'\n    codedir: 'var/db/baetyl/function-sayhi'\n  - name: unused\n    handler: a.b\n";
    const node =
      'functions:\n  - name: sayjs\n    handler: index.handler\n    codedir: /var/db/baetyl/function-sayjs\n    runtime: nodejs\n';
    const p = plan(manager, {
      runtimeConfigs: [
        { name: 'python.yml', text: python },
        { name: 'node.yml', text: node },
      ],
    });
    expect(p.functions.map((f) => [f.name, f.handler, f.codedir, f.runtime, f.service])).toEqual([
      ['sayhi', 'index.handler', 'var/db/baetyl/function-sayhi', undefined, 'function-python'],
      ['sayjs', 'index.handler', 'var/db/baetyl/function-sayjs', 'node', 'function-node'],
    ]);
    expect(p.services).toEqual({ 'function-python': ['sayhi'], 'function-node': ['sayjs'] });
    expect(p.warnings).toEqual([expect.stringMatching(/"unused" is not in the manager's functions/)]);
    expect(() =>
      plan(manager, {
        runtimeConfigs: [{ name: 'python.yml', text: python.replace('codedir', 'codedir: x\n    codedir') }],
      }),
    ).toThrow(/python\.yml: not valid YAML/);
  });
});

const V011 = `
name: localfunc
hub: {address: tcp://localhub:1883}
rules:
  - id: rule-1
    subscribe: {topic: t, qos: 1}
    compute: {function: sayhi}
    publish: {topic: t/hi, qos: 1}
functions:
  - id: func-1
    name: sayhi
    runtime: python36
    handler: sayhi.handler
    codedir: app/sayhi
    entry: openedge-function-python36
    env: {USER_ID: acuiot, N: 3}
    instance:
      min: 1
      max: 10
      idletime: 1m
      timeout: 30s
      cpu: {cpus: 0.5}
      memory: {limit: 50m}
`;

describe('an OpenEdge 0.1.x module.yml', () => {
  it('maps functions (runtime, env, limits) and compute rules, with one attempt', () => {
    const p = planImport({ config: { name: 'module.yml', text: V011 } }, FACTS);
    expect(p.format).toBe('openedge');
    expect(p.functions).toEqual([
      {
        name: 'sayhi',
        handler: 'sayhi.handler',
        codedir: 'app/sayhi',
        runtime: 'python',
        env: { USER_ID: 'acuiot', N: '3' },
        scaling: { minInstances: 1, maxInstances: 10, idleTimeoutMs: 60_000, concurrency: 1 },
        timeoutMs: 30_000,
        maxMessageBytes: 4194304,
        limits: { cpus: 0.5, memoryMb: 50 },
        mqtt: [
          {
            subscribe: 't',
            publish: 't/hi',
            qos: 1,
            publishQos: 1,
            attempts: 1,
            onError: 'publish',
            maxPayloadBytes: 4194304,
          },
        ],
      },
    ]);
    expect(p.services).toEqual({});
    expect(p.hub?.sameAsSkiff).toBe(false);
  });

  it("applies 0.1.x's defaults: timeout 5m, no limits", () => {
    const p = plan('functions:\n  - name: f\n    runtime: nodejs\n    handler: index.handler\n');
    expect(p.format).toBe('openedge');
    expect(p.functions[0]).toMatchObject({ runtime: 'node', timeoutMs: 300_000, codedir: '' });
    expect(p.functions[0]?.limits).toBeUndefined();
    expect(p.functions[0]?.scaling).toEqual({
      minInstances: 0,
      maxInstances: 1,
      idleTimeoutMs: 600_000,
      concurrency: 1,
    });
  });

  it('refuses Python 2, unknown runtimes and bad limits', () => {
    const m = (a: string, b: string) => refusal(V011.replace(a, b));
    expect(m('runtime: python36', 'runtime: python27')).toMatch(
      /functions\[0\]\.runtime: "python27": Python 2 is not supported/,
    );
    expect(m('runtime: python36', 'runtime: go')).toMatch(
      /functions\[0\]\.runtime: "go" is not a runtime Skiff runs/,
    );
    expect(m('limit: 50m', 'limit: 1m')).toMatch(/instance\.memory\.limit: "1m" is below Skiff's least, 32m/);
    expect(m('limit: 50m', 'limit: lots')).toMatch(/instance\.memory\.limit: "lots" is not a memory size/);
    expect(m('cpus: 0.5', 'cpus: 0.01')).toMatch(/instance\.cpu\.cpus: must be a number of CPUs/);
    expect(m('{function: sayhi}', '{function: nobody}')).toMatch(
      /rules\[0\]\.compute\.function: no function named "nobody"/,
    );
    expect(m('    handler: sayhi.handler\n', '')).toMatch(/functions\[0\]\.handler: is required/);
    expect(m('env: {USER_ID: acuiot, N: 3}', 'env: {"A-B": x}')).toMatch(
      /functions\[0\]\.env\.A-B: an environment variable name/,
    );
    expect(m('timeout: 30s', 'timeout: 1y')).toMatch(/instance\.timeout: "1y" is not a duration/);
  });

  it('takes the runtime from entry when runtime is absent, and refuses runtime files', () => {
    const p = plan(V011.replace('    runtime: python36\n', ''));
    expect(p.functions[0]?.runtime).toBe('python');
    expect(refusal(V011, { runtimeConfigs: [{ name: 'r.yml', text: '' }] })).toMatch(
      /runtime configuration files are for Baetyl 1\.0/,
    );
    expect(
      refusal(
        V011.replace('openedge-function-python36', 'openedge-function-python27').replace(
          '    runtime: python36\n',
          '',
        ),
      ),
    ).toMatch(/functions\[0\]\.entry: .*Python 2/);
  });
});

describe('format detection and forcing', () => {
  it('tells 0.1.x from 1.0 by the rules, else by the functions', () => {
    expect(detectFormat({ rules: [{ compute: {} }] })).toBe('openedge');
    expect(detectFormat({ rules: [{ function: {} }] })).toBe('baetyl');
    expect(detectFormat({ functions: [{ service: 's' }] })).toBe('baetyl');
    expect(detectFormat({ functions: [{ entry: 'e' }] })).toBe('openedge');
    expect(detectFormat({})).toBe('baetyl');
  });
  it('reads a file as the format forced', () => {
    expect(plan(fn1(''), { format: 'openedge' }).format).toBe('openedge');
  });
});

describe('broker addresses', () => {
  it('compare host and port, loopback names as one, default ports by scheme', () => {
    expect(brokerKey('tcp://localhost')).toBe('loopback:1883');
    expect(brokerKey('mqtt://127.0.0.1:1883')).toBe('loopback:1883');
    expect(brokerKey('ssl://hub.example:8883')).toBe('hub.example:8883');
    expect(brokerKey('ssl://hub.example')).toBe('hub.example:8883');
    expect(brokerKey('not a url')).toBeUndefined();
  });
});

describe("an imported function's runtime from its code", () => {
  const base = plan(fn1('')).functions[0];
  if (base === undefined) throw new Error('no function');
  const files =
    (...names: string[]) =>
    (rel: string) =>
      names.includes(rel);
  it('finds a/b.py or a/b.js for handler a.b.fn', () => {
    expect(resolveRuntime({ ...base, handler: 'index.handler' }, files('index.py'))).toBe('python');
    expect(resolveRuntime({ ...base, handler: 'index.handler' }, files('index.js'))).toBe('node');
    expect(resolveRuntime({ ...base, handler: 'pkg.mod.fn' }, files('pkg/mod.py'))).toBe('python');
    expect(resolveRuntime({ ...base, handler: 'pkg.mod.fn' }, files('pkg/mod/__init__.py'))).toBe('python');
    expect(resolveRuntime({ ...base, handler: 'index.handler', runtime: 'node' }, files('index.py'))).toBe(
      'node',
    );
  });
  it('refuses when neither or both are there', () => {
    expect(() => resolveRuntime({ ...base, handler: 'index.handler' }, files())).toThrow(
      /neither index\.py nor index\.js/,
    );
    expect(() =>
      resolveRuntime({ ...base, handler: 'index.handler' }, files('index.py', 'index.js')),
    ).toThrow(/both/);
  });
});
