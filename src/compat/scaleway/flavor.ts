/**
 * The Scaleway Functions flavor (docs/compat/scaleway.md): the bridges get `flavor: "scaleway"` in INIT
 * and call the code as Scaleway does (Node `handle(event, context, callback)`, Python
 * `handle(event, context)`), with its API-Gateway-style event and its response mapping. Its handler is
 * written `<file>.<export>` (`handler.handle`), mapped here onto Skiff's forms. Callers see the
 * function's error text, as Scaleway's do (`An error occured during handler execution: <message>`).
 */
import type { Flavor } from '../../model/flavor.js';
import type { RuntimeName } from '../../model/spec.js';

/** Scaleway's handler when skiff.json names none. */
export const SCALEWAY_DEFAULT_HANDLER = 'handler.handle';

/**
 * `<file>.<export>` (relative to the function root, the file without its extension) → Skiff's form:
 * Node `file:export` (the build finds file.js, .mjs or .cjs), Python `file.py:export`. A handler that is
 * already in Skiff's form (it has a `:`, or is a Python `.py` file) is left as written.
 */
export function mapScalewayHandler(handler: string, runtime: RuntimeName): string {
  if (handler.includes(':')) return handler;
  if (runtime === 'python' && handler.endsWith('.py')) return handler;
  const dot = handler.lastIndexOf('.');
  const slash = handler.lastIndexOf('/');
  if (dot <= slash + 1 || dot === handler.length - 1) return handler;
  const file = handler.slice(0, dot);
  const name = handler.slice(dot + 1);
  if (runtime === 'node') return `${file}:${name}`;
  if (runtime === 'python') return `${file}.py:${name}`;
  return handler;
}

export const SCALEWAY_FLAVOR: Flavor = {
  name: 'scaleway',
  defaultHandler: {
    node: mapScalewayHandler(SCALEWAY_DEFAULT_HANDLER, 'node'),
    python: mapScalewayHandler(SCALEWAY_DEFAULT_HANDLER, 'python'),
  },
  mapHandler: mapScalewayHandler,
  showsErrorText: true,
  // Scaleway runs one request per instance at a time: module globals are never shared by two calls
  maxConcurrency: 1,
  // its platform's variables (deploying one is an error upstream too)
  reservedEnvPrefix: 'SCW_',
};
