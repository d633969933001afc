/**
 * Open Runtimes as a dialect. Today its function flavor (`flavor: "openruntimes"` in skiff.json), known
 * whether or not the dialect is enabled; its executor API (`compat.openruntimes`, upstream's port 9900)
 * is still to come, and enabling the section only says so.
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { OPENRUNTIMES_FLAVOR } from './flavor.js';

/** `compat.openruntimes`. */
const sectionSchema = z
  .object({
    enabled: z.boolean().default(false),
  })
  .strict()
  .prefault({});

export type OpenRuntimesSection = z.infer<typeof sectionSchema>;

export const openruntimes: Dialect<OpenRuntimesSection> = {
  name: 'openruntimes',
  config: { schema: sectionSchema },
  flavors: [OPENRUNTIMES_FLAVOR],
  enable: () => ({
    notes: ['⚠ Open Runtimes: functions of flavor openruntimes run; its executor API is not served yet'],
  }),
};
