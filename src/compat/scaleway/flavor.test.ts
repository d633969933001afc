import { describe, expect, it } from 'vitest';
import { buildHandler } from '../../model/flavor.js';
import { parseNodeHandler } from '../../model/node-handler.js';
import { SCALEWAY_FLAVOR, mapScalewayHandler } from './flavor.js';

describe("the Scaleway flavor's handler", () => {
  it('maps file.export onto the Node and Python forms', () => {
    expect(mapScalewayHandler('handler.handle', 'node')).toBe('handler:handle');
    expect(mapScalewayHandler('src/api/handler.main', 'node')).toBe('src/api/handler:main');
    expect(mapScalewayHandler('handler.handle', 'python')).toBe('handler.py:handle');
    expect(mapScalewayHandler('src/handler.run', 'python')).toBe('src/handler.py:run');
  });

  it("leaves Skiff's own forms and what has no export as written", () => {
    expect(mapScalewayHandler('handler.js:handle', 'node')).toBe('handler.js:handle');
    expect(mapScalewayHandler('main.py', 'python')).toBe('main.py');
    expect(mapScalewayHandler('main.py:run', 'python')).toBe('main.py:run');
    expect(mapScalewayHandler('handler', 'node')).toBe('handler');
    expect(mapScalewayHandler('.hidden', 'node')).toBe('.hidden');
    expect(mapScalewayHandler('dir.v2/handler', 'node')).toBe('dir.v2/handler');
    expect(mapScalewayHandler('handler.', 'node')).toBe('handler.');
  });

  it('is what a build gets: mapped, or the default handler.handle', () => {
    expect(buildHandler(SCALEWAY_FLAVOR, 'node', null)).toBe('handler:handle');
    expect(buildHandler(SCALEWAY_FLAVOR, 'python', null)).toBe('handler.py:handle');
    expect(buildHandler(SCALEWAY_FLAVOR, 'node', 'fn.run')).toBe('fn:run');
    // flavors without a mapping use the spec's handler as written
    expect(buildHandler({ name: 'x', showsErrorText: false }, 'node', 'fn.run')).toBe('fn.run');
    expect(buildHandler(undefined, 'python', null)).toBeNull();
  });

  it('maps onto a form the Node build reads as file and export', () => {
    expect(parseNodeHandler(mapScalewayHandler('handler.handle', 'node'))).toEqual({
      file: 'handler',
      exportName: 'handle',
    });
  });
});
