/**
 * The tinyFaaS function flavor (docs/compat/tinyfaas-flavors.md): the bridges get `flavor: "tinyfaas"`
 * in INIT and call the code as tinyFaaS does (Node `(req, res)` in the package's main, Python
 * `fn(input, headers)` in fn.py, a binary's fn.sh); callers see the function's error text, as tinyFaaS's do.
 */
import type { Flavor } from '../../model/flavor.js';

/** The handler of a Python function of the tinyFaaS flavor when skiff.json names none. */
export const TINYFAAS_PYTHON_HANDLER = 'fn.py:fn';

export const TINYFAAS_FLAVOR: Flavor = {
  name: 'tinyfaas',
  defaultHandler: { python: TINYFAAS_PYTHON_HANDLER },
  showsErrorText: true,
};
