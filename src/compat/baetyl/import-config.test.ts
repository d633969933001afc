import { describe, expect, it } from 'vitest';
import { FACTS, fn1, plan, refusal } from '../../../test/helpers/baetyl-import-plan.js';
import { planImport } from './import-config.js';

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
