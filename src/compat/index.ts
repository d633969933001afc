/**
 * The compiled-in dialects (name → record), as Miniflare lists its plugins: server.ts and the CLI reach
 * every foreign platform through this record, and nothing else in the core imports src/compat/.
 * Adding a platform: a folder with an index.ts exporting its Dialect, and one line here.
 */
import { flavorSet, type Flavors } from '../model/flavor.js';
import type { Config } from '../shared/config.js';
import type { ConfigSection } from '../shared/config-section.js';
import type { GatewayRules } from '../triggers/gateway-rules.js';
import { sectionOf, type Dialects } from './dialect.js';
import { openruntimes } from './openruntimes/index.js';
import { scaleway } from './scaleway/index.js';
import { tinyfaas } from './tinyfaas/index.js';

export type { Dialect, DialectContext, DialectParts, Dialects, GatewayMount } from './dialect.js';
export { enableDialects, type EnabledDialects } from './enable.js';

export const DIALECTS: Dialects = { tinyfaas, openruntimes, scaleway };

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

/** The gateway rules of flavors that bring some (flavor name → rules), over all compiled-in dialects. */
export function dialectFlavorRules(dialects: Dialects, config: Config): ReadonlyMap<string, GatewayRules> {
  const out = new Map<string, GatewayRules>();
  for (const dialect of Object.values(dialects)) {
    for (const [flavor, rules] of Object.entries(dialect.flavorRules?.(config) ?? {})) out.set(flavor, rules);
  }
  return out;
}
