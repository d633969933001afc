/**
 * Scaleway Functions as a dialect (docs/compat/scaleway.md). Its function flavor (`scaleway`, in
 * flavor.ts) is known whether or not the dialect is enabled; `compat.scaleway.enabled` adds nothing yet.
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { SCALEWAY_FLAVOR } from './flavor.js';
import { scalewayRules } from './http.js';

/** `compat.scaleway`. */
const sectionSchema = z
  .object({
    enabled: z.boolean().default(false),
  })
  .strict()
  .prefault({});

export type ScalewaySection = z.infer<typeof sectionSchema>;

export const scaleway: Dialect<ScalewaySection> = {
  name: 'scaleway',
  config: { schema: sectionSchema },
  flavors: [SCALEWAY_FLAVOR],
  // its HTTP rules apply to the flavor's functions on every gateway, the dialect enabled or not
  flavorRules: (config) => ({ scaleway: scalewayRules(config.http.maxBodyBytes) }),
  enable: () => ({}),
};
