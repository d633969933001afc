/**
 * The language of an imported function: the one its configuration names (`runtime`, 0.1.x `entry`),
 * else told from its code: handler `a.b.fn` runs `a/b.py` (or the package `a/b/__init__.py`) in
 * Python and `a/b.js` in Node, found in the function's codedir.
 */
import { SkiffError } from '../../shared/errors.js';
import type { PlannedFunction } from './import-config.js';

/** The files a handler `a.b.fn` names, per language, relative to the codedir. */
export function handlerFiles(handler: string): { python: string[]; node: string[] } {
  const dot = handler.lastIndexOf('.');
  const module = dot <= 0 ? handler : handler.slice(0, dot);
  const python = module.split('.').join('/');
  return {
    python: [`${python}.py`, `${python}/__init__.py`],
    node: [`${module}.js`, `${module}.cjs`, `${module}.mjs`, `${module}/index.js`],
  };
}

/**
 * `python` or `node` for a planned function; `isFile` answers for a path relative to the codedir.
 * Refused when the code holds neither file, or both.
 */
export function resolveRuntime(fn: PlannedFunction, isFile: (rel: string) => boolean): 'python' | 'node' {
  if (fn.runtime !== undefined) return fn.runtime;
  const files = handlerFiles(fn.handler);
  const python = files.python.some(isFile);
  const node = files.node.some(isFile);
  const where = fn.codedir === '' ? 'the imported folder' : `codedir ${fn.codedir}`;
  if (python && !node) return 'python';
  if (node && !python) return 'node';
  throw new SkiffError(
    'SKIFF_E_INVALID_SPEC',
    python
      ? `function ${JSON.stringify(fn.name)}: ${where} holds both ${files.python[0] ?? ''} and ${files.node[0] ?? ''}; name the runtime (runtime: python3 or nodejs)`
      : `function ${JSON.stringify(fn.name)}: cannot tell its runtime: ${where} holds neither ${files.python[0] ?? ''} nor ${files.node[0] ?? ''} for handler ${JSON.stringify(fn.handler)}; check codedir and handler, or name the runtime (runtime: python3 or nodejs)`,
  );
}
