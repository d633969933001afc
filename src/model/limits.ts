import { z } from 'zod';

/** What one instance may use. Enforced by its cgroup, rlimits and the size of its /tmp. */
export interface Limits {
  /** Memory of every process of the instance together (cgroup), /tmp contents included, MiB. */
  memoryMb: number;
  /** CPU quota in cores (cgroup CFS quota); 0.5 is half a core. */
  cpus: number;
  /** Processes and threads at most (cgroup pids.max): a fork bomb stops there. */
  pids: number;
  /** Size of the private /tmp (tmpfs), MiB. */
  tmpMb: number;
  /** Open files per process (RLIMIT_NOFILE). */
  openFiles: number;
  /** Largest file a process may write (RLIMIT_FSIZE), MiB. */
  fileSizeMb: number;
}

export type LimitsInput = Partial<Limits>;

/**
 * `none`: a loopback of its own only; `outbound`: a network namespace of its own too, with user-mode NAT
 * to the outside (slirp4netns, src/sandbox/private-net.ts), never the host's network or loopback.
 */
export const NETWORK_MODES = ['none', 'outbound'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const limitFields = {
  memoryMb: z.number().int().min(32).max(65_536),
  cpus: z.number().min(0.05).max(64),
  pids: z.number().int().min(8).max(32_768),
  tmpMb: z.number().int().min(1).max(16_384),
  openFiles: z.number().int().min(32).max(1_048_576),
  fileSizeMb: z.number().int().min(1).max(1_048_576),
};

export const limitsInputSchema = z
  .object({
    memoryMb: limitFields.memoryMb.optional(),
    cpus: limitFields.cpus.optional(),
    pids: limitFields.pids.optional(),
    tmpMb: limitFields.tmpMb.optional(),
    openFiles: limitFields.openFiles.optional(),
    fileSizeMb: limitFields.fileSizeMb.optional(),
  })
  .strict();

/** The platform's defaults (config `sandbox.limits`), after AWS Lambda and nsjail (docs/security.md). */
export const DEFAULT_LIMITS: Limits = {
  memoryMb: 256,
  cpus: 1,
  pids: 128,
  tmpMb: 64,
  openFiles: 1024,
  fileSizeMb: 64,
};

/** The most a function may ask for (config `sandbox.maxLimits`): a share of a small server, not all of it. */
export const DEFAULT_MAX_LIMITS: Limits = {
  memoryMb: 2048,
  cpus: 2,
  pids: 1024,
  tmpMb: 1024,
  openFiles: 65_536,
  fileSizeMb: 1024,
};

/** The defaults of a build step (config `build.limits`): npm and pip need more than a function. */
export const DEFAULT_BUILD_LIMITS: Limits = {
  memoryMb: 1024,
  cpus: 1,
  pids: 256,
  tmpMb: 512,
  openFiles: 4096,
  fileSizeMb: 512,
};

/** Layers the platform defaults and a function's own limits. */
export function resolveLimits(
  defaults: Limits,
  own: { [K in keyof Limits]?: number | undefined } | null | undefined,
): Limits {
  const out: Limits = { ...defaults };
  for (const [key, value] of Object.entries(own ?? {})) {
    if (typeof value === 'number') out[key as keyof Limits] = value;
  }
  return out;
}

/** Drops undefined fields (as zod leaves them) so that the stored spec holds only what was set. */
export function compactLimits(input: { [K in keyof Limits]?: number | undefined }): LimitsInput {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as LimitsInput;
}

/** Each limit at most its ceiling. */
export function clampLimits(limits: Limits, max: Limits): Limits {
  const out: Limits = { ...limits };
  for (const key of Object.keys(out) as (keyof Limits)[]) out[key] = Math.min(out[key], max[key]);
  return out;
}
