/**
 * The import of OpenEdge 0.1.x module files, format detection, broker addresses and runtimes told
 * from the code (the Baetyl 1.0 configurations are in import-config.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { FACTS, fn1, plan, refusal } from '../../../test/helpers/baetyl-import-plan.js';
import { brokerKey, detectFormat, planImport } from './import-config.js';
import { resolveRuntime } from './import-runtime.js';

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
