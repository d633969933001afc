/** The `memory` section of the configuration: giving back memory the platform and instances hold idle. */
import { z } from 'zod';

/** At most a day; 0 turns it off. */
const idleMillis = (fallback: number) => z.number().int().min(0).max(86_400_000).default(fallback);

export const memoryConfigSchema = z
  .object({
    /**
     * After this long without an invocation, deploy or control change (and once after start), the
     * platform collects its heap once and shrinks V8's young generation back (docs/architecture.md,
     * "Idle memory"); again only after new activity. 0: never.
     */
    reduceAfterIdleMs: idleMillis(60_000),
    /** The same in each Node.js instance: after its last call settled, nothing in flight. 0: never. */
    instanceReduceAfterIdleMs: idleMillis(60_000),
  })
  .strict()
  .prefault({});
