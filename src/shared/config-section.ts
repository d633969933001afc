/**
 * A section of the configuration that the core does not define: a compatibility API's `compat.<name>`.
 * The composition root passes the sections to loadConfig; the core sees `config.compat` as opaque.
 */
import type { z } from 'zod';
import type { Config } from './config.js';

export interface ConfigSection {
  /** Parses `compat.<name>`: undefined gives its defaults (off), unknown fields are refused. */
  schema: z.ZodType;
  /**
   * Reads the section's own environment variables once the whole configuration is parsed, and may
   * change the configuration in place (a platform's listener variables); throws SKIFF_E_CONFIG_INVALID.
   */
  fromEnv?(config: Config, env: NodeJS.ProcessEnv): void;
}
