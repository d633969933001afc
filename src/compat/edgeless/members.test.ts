import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../shared/errors.js';
import { endpointKey, membersOf, stableId, unreachableHost, type MemberChecks } from './members.js';
import { planEdgelessWorkflow } from './workflow-json.js';

const fn = (name: string, code: string, mapping: Record<string, string> = {}) => ({
  name,
  class_specification: {
    id: name,
    function_type: 'CONTAINER',
    version: '1',
    code,
    outputs: Object.keys(mapping),
  },
  output_mapping: mapping,
});
const plan = (functions: unknown[], resources: unknown[] = []) =>
  planEdgelessWorkflow(
    { functions, resources, annotations: {} },
    { ociRunner: false, fileLogDir: '/logs/wf' },
  );
const checks: MemberChecks = { attachedElsewhere: new Map(), attachedCount: 0, maxInstances: 4, refused: [] };
const issues = (run: () => unknown): string[] => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return ((err as SkiffError).details as { issues: { message: string }[] }).issues.map((i) => i.message);
  }
  throw new Error('not refused');
};

describe('membersOf', () => {
  it('names attached members and resources under the workflow, keeps skiff: names, maps channels', () => {
    const p = plan(
      [
        fn('Doubler_1', 'grpc:http://127.0.0.1:7101', { out: 'store', self: 'audit' }),
        fn('store', 'skiff:resize', { done: 'audit' }),
      ],
      [{ name: 'audit', class_type: 'file-log', output_mapping: {}, configurations: { filename: 'a.log' } }],
    );
    const m = membersOf('wf', p, checks);
    expect(m.provides).toEqual(['wf--doubler-1', 'wf--audit']);
    expect(Object.fromEntries(m.names)).toEqual({
      Doubler_1: 'wf--doubler-1',
      store: 'resize',
      audit: 'wf--audit',
    });
    // `self` is the sender itself, never a mapped channel
    expect(m.spec.functions).toEqual({
      'wf--doubler-1': { out: ['resize'] },
      resize: { done: ['wf--audit'] },
      'wf--audit': {},
    });
    expect(m.mappings.get('resize')?.get('done')).toBe('wf--audit');
  });

  it('refuses, naming each: a name over 63 characters, a URL twice or held elsewhere, link-local, too many', () => {
    const long = 'x'.repeat(60);
    expect(issues(() => membersOf('wf', plan([fn(long, 'grpc:http://127.0.0.1:1')]), checks))).toEqual([
      expect.stringContaining('longer than 63 characters') as string,
    ]);
    const twice = plan([fn('a', 'grpc:http://127.0.0.1:1'), fn('b', 'grpc:http://127.0.0.1:1')]);
    expect(issues(() => membersOf('wf', twice, checks))[0]).toMatch(/already attached as functions\[0\]/);
    const held = { ...checks, attachedElsewhere: new Map([['loopback:2', 'w2--x (workflow w2)']]) };
    expect(issues(() => membersOf('wf', plan([fn('a', 'grpc:http://localhost:2')]), held))[0]).toMatch(
      /already attached as w2--x/,
    );
    expect(
      issues(() => membersOf('wf', plan([fn('a', 'grpc:http://169.254.169.254:80')]), checks))[0],
    ).toMatch(/link-local/);
    const full = { ...checks, attachedCount: 4 };
    expect(issues(() => membersOf('wf', plan([fn('a', 'grpc:http://127.0.0.1:3')]), full))[0]).toMatch(
      /at most 4 instances/,
    );
  });
});

describe('unreachableHost and stableId', () => {
  it('tells link-local and unspecified hosts, in every notation, from the rest', () => {
    for (const url of [
      'http://169.254.169.254:1',
      'http://[fe80::1]:1',
      'http://0.0.0.0:1',
      'http://[::]:1',
      'http://[::ffff:169.254.169.254]:1',
      'http://[fd00:ec2::254]:80',
    ])
      expect(unreachableHost(new URL(url).hostname), url).toBe(true);
    for (const url of ['http://127.0.0.1:1', 'http://[::1]:1', 'http://10.0.0.2:1', 'http://fe80.example:1'])
      expect(unreachableHost(new URL(url).hostname), url).toBe(false);
  });

  it('keys every loopback form of one port as one endpoint, other hosts as written', () => {
    const keys = [
      'http://127.0.0.1:7101',
      'http://localhost:7101',
      'http://[::1]:7101',
      'http://127.1.2.3:7101',
    ];
    expect(new Set(keys.map(endpointKey))).toEqual(new Set(['loopback:7101']));
    expect(endpointKey('http://LOCALHOST:7102')).toBe('loopback:7102');
    expect(endpointKey('http://Edge-1.example:7101')).toBe('edge-1.example:7101');
  });

  it('gives a function one UUID-shaped id per node, different for another name or node', () => {
    const id = stableId('n1', 'resize');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableId('n1', 'resize')).toBe(id);
    expect(stableId('n1', 'other')).not.toBe(id);
    expect(stableId('n2', 'resize')).not.toBe(id);
  });
});
