import { z } from 'zod';

/** How one function scales: the effective settings, every field resolved. */
export interface Scaling {
  /** Instances kept running even when idle (0: scale to zero). */
  minInstances: number;
  /** Instances at most, of one version. */
  maxInstances: number;
  /** Invocations one instance serves at once; the next one goes to another instance or waits. */
  concurrency: number;
  /** Invocations that may wait for a free slot; one more gets 429 at once. */
  maxQueue: number;
  /** How long an invocation may wait for a free slot before it gets 503. */
  maxQueueWaitMs: number;
  /** An instance idle this long is stopped, down to `minInstances`. */
  idleTimeoutMs: number;
}

export type ScalingInput = Partial<Scaling>;

export const SCALING_FIELDS = [
  'minInstances',
  'maxInstances',
  'concurrency',
  'maxQueue',
  'maxQueueWaitMs',
  'idleTimeoutMs',
] as const satisfies readonly (keyof Scaling)[];

const HOUR = 3_600_000;

/** The bounds of every field, shared by skiff.json, the API and the platform's defaults. */
export const scalingFields = {
  minInstances: z.number().int().min(0).max(100).meta({ description: 'Kept running; 0 scales to zero.' }),
  maxInstances: z.number().int().min(1).max(100).meta({ description: 'Instances of one version at most.' }),
  concurrency: z.number().int().min(1).max(10_000).meta({ description: 'Invocations per instance at once.' }),
  maxQueue: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .meta({ description: 'Waiting invocations; one more gets 429.' }),
  maxQueueWaitMs: z
    .number()
    .int()
    .min(1)
    .max(HOUR)
    .meta({ description: 'Longest wait for a slot, then 503.' }),
  idleTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(24 * HOUR)
    .meta({ description: 'Idle instances above the minimum stop after this.' }),
};

/** A partial set of scaling settings (skiff.json `scaling`, deploy parameters, `skiff fn scale`). */
export const scalingInputSchema = z
  .object({
    minInstances: scalingFields.minInstances.optional(),
    maxInstances: scalingFields.maxInstances.optional(),
    concurrency: scalingFields.concurrency.optional(),
    maxQueue: scalingFields.maxQueue.optional(),
    maxQueueWaitMs: scalingFields.maxQueueWaitMs.optional(),
    idleTimeoutMs: scalingFields.idleTimeoutMs.optional(),
  })
  .strict();

/** The body of `PATCH /v1/functions/{name}/scaling` (`skiff fn scale`): null removes a field from the override. */
export const scalingPatchSchema = z
  .object({
    minInstances: scalingFields.minInstances.nullable().optional(),
    maxInstances: scalingFields.maxInstances.nullable().optional(),
    concurrency: scalingFields.concurrency.nullable().optional(),
    maxQueue: scalingFields.maxQueue.nullable().optional(),
    maxQueueWaitMs: scalingFields.maxQueueWaitMs.nullable().optional(),
    idleTimeoutMs: scalingFields.idleTimeoutMs.nullable().optional(),
  })
  .strict();

/** The platform's defaults (config `scaling`), documented in the README. */
export const DEFAULT_SCALING: Scaling = {
  minInstances: 0,
  maxInstances: 10,
  concurrency: 100,
  maxQueue: 1000,
  maxQueueWaitMs: 10_000,
  idleTimeoutMs: 300_000,
};

/** Drops undefined fields so that a later layer only overrides what it sets. */
export function compactScaling(input: { [K in keyof Scaling]?: number | undefined }): ScalingInput {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ScalingInput;
}
