import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import { WorkflowStore } from './workflow-store.js';

const dirs: string[] = [];
const tempFile = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-workflows-'));
  dirs.push(dir);
  return path.join(dir, 'workflows.db');
};
const stores: WorkflowStore[] = [];
const open = (file: string, maxWorkflows?: number): WorkflowStore => {
  const store = new WorkflowStore(file, maxWorkflows === undefined ? {} : { maxWorkflows });
  stores.push(store);
  return store;
};

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function refused(run: () => unknown): SkiffError {
  try {
    run();
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('WorkflowStore', () => {
  it('creates, replaces (version + 1), lists, deletes, and keeps it all in the file', () => {
    const file = tempFile();
    const store = open(file);
    const first = store.apply({ name: 'p', functions: { a: { out: ['b'] } } });
    expect(first.created).toBe(true);
    expect(first.workflow.version).toBe(1);
    const second = store.apply({ name: 'p', description: 'd', functions: { a: { out: [] }, b: {} } });
    expect(second).toMatchObject({ created: false, workflow: { version: 2 } });
    expect(second.workflow.createdAt).toBe(first.workflow.createdAt);
    expect(store.workflowOf('b')).toBe('p');
    store.apply({ name: 'alpha', functions: { c: {} } });
    store.close();

    const again = open(file);
    expect(again.list().map((w) => w.spec.name)).toEqual(['alpha', 'p']);
    expect(again.get('p')?.spec).toEqual({
      name: 'p',
      description: 'd',
      functions: { a: { out: [] }, b: {} },
    });
    expect(again.delete('p')).toBe(true);
    expect(again.delete('p')).toBe(false);
    expect(again.get('p')).toBeUndefined();
    expect(again.workflowOf('a')).toBeUndefined();
  });

  it('keeps a function in one workflow at most; a replace may drop and take members', () => {
    const store = open(tempFile());
    store.apply({ name: 'one', functions: { a: {}, b: {} } });
    const clash = refused(() => store.apply({ name: 'two', functions: { b: {}, c: {}, a: {} } }));
    expect(clash.code).toBe('SKIFF_E_WORKFLOW_CONFLICT');
    expect(clash.details).toEqual({ members: { a: 'one', b: 'one' } });
    expect(store.get('two')).toBeUndefined();
    expect(store.workflowOf('c')).toBeUndefined();
    // once `one` lets go of b, `two` may take it
    store.apply({ name: 'one', functions: { a: {} } });
    expect(store.apply({ name: 'two', functions: { b: {} } }).created).toBe(true);
    expect(store.workflowOf('b')).toBe('two');
    store.delete('one');
    store.apply({ name: 'two', functions: { a: {}, b: {} } });
    expect(store.workflowOf('a')).toBe('two');
  });

  it('refuses a workflow over the cap, but still replaces an existing one', () => {
    const store = open(tempFile(), 2);
    store.apply({ name: 'w1', functions: { a: {} } });
    store.apply({ name: 'w2', functions: { b: {} } });
    const full = refused(() => store.apply({ name: 'w3', functions: { c: {} } }));
    expect(full.code).toBe('SKIFF_E_WORKFLOW_CONFLICT');
    expect(full.details).toEqual({ workflows: 2, maxWorkflows: 2 });
    expect(store.apply({ name: 'w2', functions: { b: { x: ['a'] } } }).created).toBe(false);
  });
});
