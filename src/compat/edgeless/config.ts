/** `compat.edgeless`: Skiff as an EDGELESS node (docs/compat/edgeless.md, "Configuration"). */
import { z } from 'zod';

export const edgelessSectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Where the GuestAPIHost listeners (one per attached instance, on a free port) bind. */
    host: z.string().min(1).default('127.0.0.1'),
    /** The host Boot announces to instances (default: `host`, or 127.0.0.1 when that is a wildcard). */
    announceHost: z.string().min(1).optional(),
    /** This node's UUID (default: one made at the first start, kept in the data directory). */
    nodeId: z.uuid().optional(),
    /** Labels, TEE and TPM: what placement annotations are checked against. */
    labels: z.array(z.string().min(1).max(256)).max(64).default([]),
    tee: z.boolean().default(false),
    tpm: z.boolean().default(false),
    /** How long connecting and booting an instance may take (Boot is retried every 10 ms). */
    bootTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** The deadline of a host Call an instance makes outside of a synchronous event. */
    callTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Instances attached at once, over all workflows. */
    maxInstances: z.number().int().min(1).max(1024).default(64),
    /** Events waiting for one instance; past it, new ones are refused (queued casts are tried later). */
    maxPendingPerInstance: z.number().int().min(1).max(100_000).default(1000),
    /** The largest a file-log resource's file grows; later events are dropped with a warning. */
    maxFileLogBytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024),
  })
  .strict()
  .prefault({});

export type EdgelessSection = z.infer<typeof edgelessSectionSchema>;
