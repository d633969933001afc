/**
 * Scaleway Functions as a dialect (docs/compat/scaleway.md). Its function flavor (`scaleway`, in
 * flavor.ts) is known whether or not the dialect is enabled; `compat.scaleway.enabled` adds nothing yet.
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { SCALEWAY_FLAVOR } from './flavor.js';

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
  enable: () => ({}),
};
