/**
 * The compiled-in dialects (name → record), as Miniflare lists its plugins: server.ts and the CLI reach
 * every foreign platform through this record, and nothing else in the core imports src/compat/.
 * Adding a platform: a folder with an index.ts exporting its Dialect, and one line here.
 */
import { flavorSet, type Flavors } from '../model/flavor.js';
import type { Config } from '../shared/config.js';
import type { ConfigSection } from '../shared/config-section.js';
import type { FlavorRules, GatewayRules } from '../triggers/gateway-rules.js';
import { sectionOf, type Dialects } from './dialect.js';
import { DIALECT_FLAGS } from './flags.js';
import { baetyl } from './baetyl/index.js';
import { edgeless } from './edgeless/index.js';
import { openruntimes } from './openruntimes/index.js';
import { scaleway } from './scaleway/index.js';
import { tinyfaas } from './tinyfaas/index.js';

export type { Dialect, DialectContext, DialectParts, Dialects, GatewayMount } from './dialect.js';
export { enableDialects, type EnabledDialects } from './enable.js';

export const DIALECTS: Dialects = { tinyfaas, openruntimes, scaleway, baetyl, edgeless };

// the CLI's serve flags come from flags.ts: each compiled-in dialect's flags are the ones listed there
for (const [name, dialect] of Object.entries(DIALECTS)) {
  const own = dialect.flags ?? [];
  const listed = DIALECT_FLAGS[name];
  if (listed === undefined || own.length !== listed.length || own.some((flag, i) => flag !== listed[i]))
    throw new Error(`the dialect ${name}'s serve flags are not those of src/compat/flags.ts`);
}

/** The configuration sections of the dialects (`compat.<name>`), for loadConfig. */
export function dialectSections(dialects: Dialects): Record<string, ConfigSection> {
  return Object.fromEntries(
    Object.entries(dialects).map(([name, dialect]) => {
      const { schema, fromEnv } = dialect.config;
      const section: ConfigSection = {
        schema,
        ...(fromEnv === undefined
          ? {}
          : { fromEnv: (config, env) => fromEnv(config, sectionOf(dialect, config), env) }),
      };
      return [name, section];
    }),
  );
}

/** Every flavor the platform knows: `native` and those of all compiled-in dialects, enabled or not. */
export function dialectFlavors(dialects: Dialects): Flavors {
  return flavorSet(Object.values(dialects).flatMap((dialect) => dialect.flavors));
}

/**
 * The gateway rules of a function's flavor, over all compiled-in dialects' `flavorRules`, or undefined
 * (no such rules, or no such function: `flavorOf` throws).
 */
export function dialectFlavorRules(
  dialects: Dialects,
  config: Config,
  flavorOf: (functionName: string) => string,
): FlavorRules {
  const byFlavor = new Map<string, GatewayRules>();
  for (const dialect of Object.values(dialects)) {
    for (const [flavor, rules] of Object.entries(dialect.flavorRules?.(config) ?? {}))
      byFlavor.set(flavor, rules);
  }
  return (name) => {
    if (byFlavor.size === 0) return undefined;
    try {
      return byFlavor.get(flavorOf(name));
    } catch {
      return undefined;
    }
  };
}
