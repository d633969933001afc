import { describe, expect, it } from 'vitest';
import { exportedMember, parseNodeHandler } from './node-handler.js';

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

describe('exportedMember', () => {
  const handle = () => 'user';
  class Api {
    handle() {
      return 'method';
    }
  }

  it('finds an ESM export, a CommonJS property and an inherited method of module.exports', () => {
    expect(exportedMember({ handle }, 'handle')).toBe(handle);
    expect(exportedMember({ default: { handle } }, 'handle')).toBe(handle);
    expect(exportedMember({ default: new Api() }, 'handle')).toBe(Api.prototype.handle);
  });

  it('never answers with a member of Object.prototype, unless module.exports has it as its own', () => {
    for (const name of [
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__proto__',
      '__defineGetter__',
    ]) {
      expect(exportedMember({ default: { handle } }, name), name).toBeUndefined();
    }
    const own = () => 'own';
    expect(exportedMember({ default: { toString: own } }, 'toString')).toBe(own);
  });
});
