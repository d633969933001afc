/**
 * The form of a Node function's handler (skiff.json `handler`, and the entry a build hands the bridge
 * in INIT): `file` loads the module's default export, `file:export` a named export. Shared by the Node
 * build (src/languages/node-build.ts) and the Node bridge (runtimes/node/bridge.ts).
 */

/** What may follow the last `:` to name an export; anything else leaves the colon in the file name. */
const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `file` → the file and no export; `file:export` → both (`a:b.js` stays a file name). */
export function parseNodeHandler(handler: string): { file: string; exportName: string | null } {
  const colon = handler.lastIndexOf(':');
  const name = colon <= 0 ? '' : handler.slice(colon + 1);
  if (!EXPORT_NAME.test(name)) return { file: handler, exportName: null };
  return { file: handler.slice(0, colon), exportName: name };
}

/**
 * The export `name` of a module loaded with import(): its own ESM export, else the property of a
 * CommonJS module's `module.exports` (Node's default export), inherited ones included (a class
 * instance's methods) but never a member every object has from `Object.prototype` (`constructor`,
 * `toString`, `__proto__`…), which would run the platform's code instead of the user's.
 */
export function exportedMember(mod: Record<string, unknown>, name: string): unknown {
  const own = Object.hasOwn(mod, name) ? mod[name] : undefined;
  if (own !== undefined) return own;
  const exports = mod['default'];
  if (typeof exports !== 'object' || exports === null) return undefined;
  if (!Object.hasOwn(exports, name) && name in Object.prototype) return undefined;
  return (exports as Record<string, unknown>)[name];
}
