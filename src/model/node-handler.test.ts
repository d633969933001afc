import { describe, expect, it } from 'vitest';
import { parseNodeHandler } from './node-handler.js';

describe('parseNodeHandler', () => {
  it('reads file and file:export', () => {
    expect(parseNodeHandler('index.js')).toEqual({ file: 'index.js', exportName: null });
    expect(parseNodeHandler('src/fn.mjs:handle')).toEqual({ file: 'src/fn.mjs', exportName: 'handle' });
    expect(parseNodeHandler('.skiff/handler.mjs:$run_2')).toEqual({
      file: '.skiff/handler.mjs',
      exportName: '$run_2',
    });
  });

  it('keeps a colon that names no export in the file name', () => {
    expect(parseNodeHandler('a:b.js')).toEqual({ file: 'a:b.js', exportName: null });
    expect(parseNodeHandler(':handle')).toEqual({ file: ':handle', exportName: null });
    expect(parseNodeHandler('fn.js:')).toEqual({ file: 'fn.js:', exportName: null });
    expect(parseNodeHandler('fn.js:1x')).toEqual({ file: 'fn.js:1x', exportName: null });
  });
});
