/** The triggers' view of the live functions, over a fake registry that counts its reads. */
import { describe, expect, it } from 'vitest';
import type { FunctionSpec } from './model/spec.js';
import type { FunctionRecord, VersionRecord } from './store/registry.js';
import { LiveFunctions } from './server-functions.js';

function fakeRegistry() {
  const live = new Map<string, number | null>();
  const reads = { lists: 0, versions: [] as string[] };
  const record = (name: string): FunctionRecord => ({
    name,
    liveVersion: live.get(name) ?? null,
    createdAt: '',
    updatedAt: '',
  });
  const version = (name: string, v: number): VersionRecord => ({
    function: name,
    version: v,
    hash: '',
    status: 'ready',
    spec: { runtime: 'node' } as unknown as FunctionSpec,
    entry: '',
    buildLog: '',
    buildMs: 0,
    createdAt: '',
  });
  return {
    live,
    reads,
    liveVersions: (): VersionRecord[] => {
      reads.lists++;
      return [...live.entries()]
        .filter(([, v]) => v !== null)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, v]) => version(name, v as number));
    },
    getFunction: (name: string) => (live.has(name) ? record(name) : undefined),
    getVersion: (name: string, version: number): VersionRecord => {
      reads.versions.push(name);
      const spec = { runtime: 'node' } as unknown as FunctionSpec;
      return {
        function: name,
        version,
        hash: '',
        status: 'ready',
        spec,
        entry: '',
        buildLog: '',
        buildMs: 0,
        createdAt: '',
      };
    },
  };
}

describe('LiveFunctions', () => {
  it('reads the live versions in one query, then only the function that changed, in the order of names', () => {
    const registry = fakeRegistry();
    registry.live.set('b', 1).set('a', 2).set('failed', null);
    const view = new LiveFunctions(registry);
    expect(view.all().map((f) => [f.name, f.version])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    view.all();
    expect(registry.reads).toEqual({ lists: 1, versions: [] });

    registry.live.set('aa', 1).set('b', 3);
    view.changed('aa');
    view.changed('b');
    registry.live.delete('a');
    view.changed('a');
    expect(view.all().map((f) => [f.name, f.version])).toEqual([
      ['aa', 1],
      ['b', 3],
    ]);
    expect(registry.reads).toEqual({ lists: 1, versions: ['aa', 'b'] });
  });

  it('hands out a copy: a caller changing its list changes nobody else', () => {
    const registry = fakeRegistry();
    registry.live.set('a', 1);
    const view = new LiveFunctions(registry);
    view.all().pop();
    expect(view.all()).toHaveLength(1);
  });
});
