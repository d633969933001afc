/** Typo suggestions: close words only. */
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './suggest.js';
import { parseSpec } from './validate.js';

describe('closest', () => {
  it('finds a typo of a known word, and nothing for an unrelated one', () => {
    expect(closest('pyhton', ['node', 'python', 'binary'])).toBe('python');
    expect(closest('nod', ['node', 'python'])).toBe('node');
    expect(closest('Binray', ['node', 'python', 'binary'])).toBe('binary');
    expect(closest('rust', ['node', 'python', 'binary'])).toBeUndefined();
    expect(closest('python', ['python'])).toBeUndefined(); // no suggestion for the word itself
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('pyhton', 'python')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the runtime in a refused spec', () => {
    expect(() => parseSpec({ runtime: 'pyhton' }, 'skiff.json')).toThrow(
      /skiff\.json is invalid: runtime: .*; did you mean "python"\?/,
    );
    expect(() => parseSpec({ runtime: 'cobol' }, 'skiff.json')).not.toThrow(/did you mean/);
  });
});
