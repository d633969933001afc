/**
 * The Open Runtimes function flavor (v5 function API): the bridges get `flavor: "openruntimes"` in INIT
 * and call the code as Open Runtimes does (`context.req`, `context.res`, `context.log`/`context.error`;
 * Node's default export or `module.exports`, Python's `main(context)`). A thrown error answers 500 with
 * an empty body, as upstream's, its text only in the function's logs.
 */
import type { Flavor } from '../../model/flavor.js';

export const OPENRUNTIMES_FLAVOR: Flavor = {
  name: 'openruntimes',
  defaultHandler: { node: 'index.js', python: 'main.py:main' },
  showsErrorText: false,
};
