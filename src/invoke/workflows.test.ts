import { describe, expect, it } from 'vitest';
import type { WorkflowSpec } from '../model/workflow.js';
import { WorkflowResolver } from './workflows.js';

const pipeline: WorkflowSpec = {
  name: 'pipeline',
  functions: {
    ingest: { output: ['resize', 'audit'], errors: [], audit: ['archive'] },
    resize: { done: ['store'] },
  },
};

describe('WorkflowResolver', () => {
  it('maps a member’s aliases and leaves every other name a plain function name', () => {
    const r = new WorkflowResolver();
    expect(r.targets('ingest', 'output')).toEqual(['output']);
    r.load([pipeline]);
    expect(r.targets('ingest', 'output')).toEqual(['resize', 'audit']);
    expect(r.targets('ingest', 'errors')).toEqual([]);
    // an alias that is also a function's name: the mapping wins for the member
    expect(r.targets('ingest', 'audit')).toEqual(['archive']);
    // a name the member's workflow does not map
    expect(r.targets('ingest', 'store')).toEqual(['store']);
    // a member's alias means nothing to another member or to a function outside any workflow
    expect(r.targets('resize', 'output')).toEqual(['output']);
    expect(r.targets('outsider', 'output')).toEqual(['output']);
    expect(r.targets('outsider', 'audit')).toEqual(['audit']);
  });

  it('gives out copies: changing an answer does not change the table', () => {
    const r = new WorkflowResolver();
    r.load([pipeline]);
    r.targets('ingest', 'output').push('evil');
    expect(r.targets('ingest', 'output')).toEqual(['resize', 'audit']);
  });

  it('a load replaces the whole table: dropped workflows and aliases stop mapping', () => {
    const r = new WorkflowResolver();
    r.load([pipeline, { name: 'other', functions: { solo: { out: ['x'] } } }]);
    r.load([{ name: 'pipeline', functions: { ingest: { output: ['store'] } } }]);
    expect(r.targets('ingest', 'output')).toEqual(['store']);
    expect(r.targets('ingest', 'errors')).toEqual(['errors']);
    expect(r.targets('resize', 'done')).toEqual(['done']);
    expect(r.targets('solo', 'out')).toEqual(['out']);
    r.load([]);
    expect(r.targets('ingest', 'output')).toEqual(['output']);
  });

  it('concurrent readers see the old or the new mapping, never a mix, while it is swapped', async () => {
    const r = new WorkflowResolver();
    // two mappings where every alias of the member changes together
    const a: WorkflowSpec = { name: 'w', functions: { m: { x: ['a1'], y: ['a2', 'a3'], z: [] } } };
    const b: WorkflowSpec = { name: 'w', functions: { m: { x: ['b1'], y: ['b2'], z: ['b3', 'b4'] } } };
    const old = ['a1', 'a2,a3', ''];
    const next = ['b1', 'b2', 'b3,b4'];
    r.load([a]);
    const seen = { old: 0, next: 0 };
    let swapping = true;
    const reader = async (): Promise<void> => {
      while (swapping) {
        // one "event": resolves every alias in one synchronous step, as a cast reads the table once
        const got = ['x', 'y', 'z'].map((alias) => r.targets('m', alias).join(','));
        if (got.join('|') === old.join('|')) seen.old++;
        else if (got.join('|') === next.join('|')) seen.next++;
        else throw new Error(`a mixed mapping: ${got.join('|')}`);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    const readers = Array.from({ length: 8 }, reader);
    for (let i = 0; i < 200; i++) {
      r.load([i % 2 === 0 ? b : a]);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    swapping = false;
    await Promise.all(readers);
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.next).toBeGreaterThan(0);
    // right after a load, the very next read has the new mapping
    r.load([b]);
    expect(r.targets('m', 'z')).toEqual(['b3', 'b4']);
  });
});
