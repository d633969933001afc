import { describe, expect, it } from 'vitest';
import { diffPlans } from './workflow-diff.js';
import type { FileLogPlan, FunctionPlan, WorkflowPlan } from './workflow-plan.js';

const fn = (name: string, over: Partial<FunctionPlan> = {}): FunctionPlan => ({
  name,
  id: name,
  version: '1.0',
  attach: { url: 'http://127.0.0.1:7101' },
  outputs: ['out'],
  mapping: {},
  initPayload: '',
  maxInstances: 0,
  annotations: {},
  ...over,
});

const log = (name: string, over: Partial<FileLogPlan> = {}): FileLogPlan => ({
  name,
  type: 'file-log',
  file: `/logs/${name}.log`,
  addSourceId: false,
  addTimestamp: false,
  mapping: {},
  ...over,
});

const plan = (functions: FunctionPlan[], resources: FileLogPlan[] = []): WorkflowPlan => ({
  functions,
  resources,
  annotations: {},
  warnings: [],
});

const NOTHING = { added: [], removed: [], mappings: [], restart: [], live: [], refused: [] };

describe('diffPlans', () => {
  it('finds nothing between equal plans, whatever the key order', () => {
    const a = plan([fn('a', { mapping: { out: 'b', err: 'log' } }), fn('b')], [log('log')]);
    const b = plan([fn('b'), fn('a', { mapping: { err: 'log', out: 'b' } })], [log('log')]);
    expect(diffPlans(a, b)).toEqual(NOTHING);
  });

  it('reports a redirected, a new and a dropped channel as live mapping changes only', () => {
    const before = plan([fn('a', { mapping: { out: 'b', old: 'b' } }), fn('b'), fn('c')], [log('log')]);
    const after = plan([fn('a', { mapping: { out: 'c', err: 'log' } }), fn('b'), fn('c')], [log('log')]);
    expect(diffPlans(before, after)).toEqual({
      ...NOTHING,
      mappings: [
        { component: 'a', channel: 'err', from: null, to: 'log' },
        { component: 'a', channel: 'old', from: 'b', to: null },
        { component: 'a', channel: 'out', from: 'b', to: 'c' },
      ],
    });
  });

  it('restarts a function whose code, attachment or init payload changed; counts and annotations stay live', () => {
    const before = plan([fn('a'), fn('b'), fn('c')]);
    const after = plan([
      fn('a', { attach: { url: 'http://127.0.0.1:7102' }, initPayload: 'x=1' }),
      fn('b', { version: '2.0' }),
      fn('c', { maxInstances: 2, annotations: { label_match_all: 'edge' }, outputs: ['out', 'err'] }),
    ]);
    expect(diffPlans(before, after)).toEqual({
      ...NOTHING,
      restart: [
        { component: 'a', fields: ['attach', 'initPayload'] },
        { component: 'b', fields: ['version'] },
      ],
      live: [{ component: 'c', fields: ['maxInstances', 'outputs', 'annotations'] }],
    });
  });

  it('restarts a file-log whose file or flags changed', () => {
    const before = plan([fn('a')], [log('l1'), log('l2')]);
    const after = plan(
      [fn('a')],
      [log('l1', { file: '/logs/other.log' }), log('l2', { addTimestamp: true })],
    );
    expect(diffPlans(before, after).restart).toEqual([
      { component: 'l1', fields: ['file'] },
      { component: 'l2', fields: ['addTimestamp'] },
    ]);
  });

  it('lists components added and removed', () => {
    const before = plan([fn('a'), fn('gone')], [log('old')]);
    const after = plan([fn('a'), fn('new')], [log('fresh')]);
    expect(diffPlans(before, after)).toMatchObject({ added: ['fresh', 'new'], removed: ['gone', 'old'] });
  });

  it('refuses a name that turns from a function into a resource', () => {
    const before = plan([fn('a'), fn('sink')]);
    const after = plan([fn('a')], [log('sink')]);
    const diff = diffPlans(before, after);
    expect(diff.refused).toEqual([
      '"sink" changes from a function to a resource: remove it in one apply and add it in another, or rename it',
    ]);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
  });
});
