/**
 * The OpenEdge / Baetyl function flavors (docs/compat/baetyl.md): the bridges get `flavor: "baetyl"`
 * (Baetyl 1.0.x and v2 functions) or `flavor: "openedge"` (OpenEdge 0.1.x) in INIT and call the code as
 * Baetyl's runtimes do, `handler(event, context)` (Python) or `handler(event, context, callback)`
 * (Node). The two flavors run code the same way; they differ in the error record an MQTT rule
 * publishes after the last attempt (`functionMessage` or 0.1.x's `packet`, mqtt-failure.ts).
 * A handler is written `module.function` (Python: dots before the last one are packages; Node: the
 * file without `.js`), mapped here onto Skiff's forms. A function of runtime `custom` and either
 * flavor is an external runtime process (docs/compat/baetyl/external-runtimes.md), run through
 * runtimes/baetyl/shim.ts.
 */
import type { Flavor } from '../../model/flavor.js';
import type { RuntimeName } from '../../model/spec.js';
import { baetylFailure, openedgeFailure } from './mqtt-failure.js';

/** Baetyl's sample handler when a function names none. */
export const BAETYL_DEFAULT_HANDLER = 'index.handler';

/**
 * `a.b.handler` → Python `a/b.py:handler`, Node `a/b:handler` (the build finds a/b.js, .mjs or .cjs).
 * A handler already in Skiff's form (it has a `:`, or is a `.py` file) is left as written.
 */
export function mapBaetylHandler(handler: string, runtime: RuntimeName): string {
  if (handler.includes(':') || handler.includes('/')) return handler;
  if (runtime === 'python' && handler.endsWith('.py')) return handler;
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) return handler;
  const module = handler.slice(0, dot);
  const name = handler.slice(dot + 1);
  if (runtime === 'python') return `${module.split('.').join('/')}.py:${name}`;
  if (runtime === 'node') return `${module}:${name}`;
  return handler;
}

const common = {
  defaultHandler: {
    node: mapBaetylHandler(BAETYL_DEFAULT_HANDLER, 'node'),
    python: mapBaetylHandler(BAETYL_DEFAULT_HANDLER, 'python'),
    // an external runtime process gets the handler as Baetyl writes it
    custom: BAETYL_DEFAULT_HANDLER,
  },
  mapHandler: mapBaetylHandler,
  showsErrorText: true,
  // a Baetyl instance serves one message at a time; `instance.max` is the function's concurrency
  maxConcurrency: 1,
  // upstream's manager discards an instance whose call failed with a timeout
  replaceAfterTimeout: true,
  // runtime custom: the command is a Baetyl / OpenEdge runtime process served over gRPC by this shim
  customShim: 'baetyl/shim.js',
} as const;

export const BAETYL_FLAVOR: Flavor = { name: 'baetyl', ...common, mqttFailure: baetylFailure };
export const OPENEDGE_FLAVOR: Flavor = { name: 'openedge', ...common, mqttFailure: openedgeFailure };
