import { describe, expect, it } from 'vitest';
import { WORKFLOW_LIMITS } from '../model/workflow.js';
import { SkiffError } from './errors.js';
import { parseWorkflow } from './validate.js';

/** The refusal of a spec: its code, message and the paths of `details.issues`. */
function refusal(raw: unknown): { code: string; message: string; paths: string[] } {
  try {
    parseWorkflow(raw, 'workflow t');
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    const e = err as SkiffError;
    const issues = (e.details as { issues: { path: string }[] }).issues;
    return { code: e.code, message: e.message, paths: issues.map((i) => i.path) };
  }
  throw new Error('the spec was accepted');
}

const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

describe('workflow specs', () => {
  it('accepts the documented example, empty target lists and members without aliases', () => {
    const spec = {
      name: 'pipeline',
      description: 'resize and keep images',
      functions: {
        ingest: { output: ['resize', 'audit'], errors: [] },
        resize: { done: ['store'], 'store.v2': ['store'] },
        store: {},
      },
    };
    expect(parseWorkflow(spec, 'workflow t')).toEqual(spec);
  });

  it('refuses bad fields with the path of each', () => {
    expect(refusal({ name: 'Bad Name', functions: { a: {} } })).toMatchObject({
      code: 'SKIFF_E_INVALID_WORKFLOW',
      paths: ['name'],
    });
    expect(refusal({ name: 'p', functions: { a: { out: ['Not_A_Function'] } } }).paths).toEqual([
      'functions.a.out[0]',
    ]);
    expect(refusal({ name: 'p', functions: { a: { out: 'b' } } }).paths).toEqual(['functions.a.out']);
    const badAlias = refusal({ name: 'p', functions: { a: { '-x': ['b'] } } });
    expect(badAlias.paths).toEqual(['functions.a.-x']);
    expect(badAlias.message).toContain('an alias is 1-63 letters');
    expect(refusal({ name: 'p', functions: { B: {} } }).message).toMatch(/functions\.B: invalid name "B"/);
    expect(refusal({ name: 'p', functions: { a: { out: ['b', 'c', 'b'] } } })).toMatchObject({
      paths: ['functions.a.out[2]'],
      message: expect.stringContaining('b is named twice') as string,
    });
    expect(refusal({ name: 'p', functions: {} }).message).toContain('at least one function');
    expect(refusal({ name: 'p', functions: { a: {} }, steps: [] }).message).toContain(
      '(root): unknown field(s) steps',
    );
    expect(refusal([]).paths).toEqual(['(root)']);
  });

  it('refuses a spec over each cap', () => {
    const L = WORKFLOW_LIMITS;
    const members = Object.fromEntries(many(L.maxFunctions + 1, (i) => [`f${i}`, {}]));
    expect(refusal({ name: 'p', functions: members }).message).toContain(
      `at most ${L.maxFunctions} functions`,
    );
    const aliases = Object.fromEntries(many(L.maxAliases + 1, (i) => `a${i}`).map((a) => [a, []]));
    expect(refusal({ name: 'p', functions: { f: aliases } }).paths).toEqual(['functions.f']);
    const targets = many(L.maxTargets + 1, (i) => `t${i}`);
    expect(refusal({ name: 'p', functions: { f: { out: targets } } }).paths).toEqual(['functions.f.out']);
    expect(
      refusal({ name: 'p', description: 'x'.repeat(L.maxDescription + 1), functions: { f: {} } }).paths,
    ).toEqual(['description']);
    // at the caps it is accepted
    const full = Object.fromEntries(many(L.maxAliases, (i) => [`a${i}`, many(L.maxTargets, (j) => `t${j}`)]));
    expect(() => parseWorkflow({ name: 'p', functions: { f: full } }, 'workflow t')).not.toThrow();
  });
});
