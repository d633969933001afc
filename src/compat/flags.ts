/**
 * The compiled-in dialects' `skiff serve` flags, by dialect name, without the dialects: the CLI builds
 * its commands from this (index.ts loads the dialects, their schemas and zod). index.ts refuses to
 * load when a dialect's flags are not these.
 */
import { baetylFlags } from './baetyl/flags.js';
import type { DialectFlag } from './dialect.js';
import { edgelessFlags } from './edgeless/flags.js';
import { openruntimesFlags } from './openruntimes/flags.js';
import { tinyfaasFlags } from './tinyfaas/flags.js';

export const DIALECT_FLAGS: Readonly<Record<string, readonly DialectFlag[]>> = {
  tinyfaas: tinyfaasFlags,
  openruntimes: openruntimesFlags,
  scaleway: [],
  baetyl: baetylFlags,
  edgeless: edgelessFlags,
};
