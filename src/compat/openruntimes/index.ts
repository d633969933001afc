/**
 * Open Runtimes as a dialect (docs/compat/openruntimes.md): its function flavor (`flavor:
 * "openruntimes"` in skiff.json), known whether or not the dialect is enabled, and with
 * `compat.openruntimes.enabled` its executor API on a listener of its own (upstream's port 9900),
 * where executor clients create runtimes (Skiff functions), execute them and read their build logs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SkiffError } from '../../shared/errors.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import type { Dialect } from '../dialect.js';
import { OPENRUNTIMES_FLAVOR } from './flavor.js';
import { openruntimesFlags } from './flags.js';

/** `compat.openruntimes`. */
const sectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The executor API's address; upstream's clients expect port 9900. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9900),
    /** `OPR_EXECUTOR_SECRET`: the key clients send (`authorization: Bearer <secret>`). */
    secret: z.string().max(1024).default(''),
    /** `OPR_EXECUTOR_CONNECTION_STORAGE`: only `file://` (the storage root) is served. */
    storage: z.string().max(1024).default('file://localhost'),
    /** Where `file://` paths live (default `<dataDir>/openruntimes/storage`). */
    storageRoot: z.string().default(''),
    /** `OPR_EXECUTOR_INACTIVE_THRESHOLD` (s): runtimes idle this long are removed. */
    inactiveThresholdS: z.number().int().min(1).default(60),
    /** `OPR_EXECUTOR_MAINTENANCE_INTERVAL` (s): how often idle runtimes are looked for. */
    maintenanceIntervalS: z.number().int().min(1).default(3600),
    /** `OPR_EXECUTOR_RUNTIME_VERSIONS`: the runtime versions accepted. */
    runtimeVersions: z
      .array(z.enum(['v5', 'v4']))
      .min(1)
      .default(['v5']),
    /** Runtimes at most (each is a Skiff function). */
    maxRuntimes: z.number().int().min(1).max(10_000).default(100),
  })
  .strict()
  .prefault({});

export type OpenRuntimesSection = z.infer<typeof sectionSchema>;

const config = (message: string): SkiffError => new SkiffError('SKIFF_E_CONFIG_INVALID', message);

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw config(`${name}=${raw} is not a whole number of seconds ≥ 1`);
  return Number(raw);
}

function executorVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
}

export const openruntimes: Dialect<OpenRuntimesSection> = {
  name: 'openruntimes',
  config: {
    schema: sectionSchema,
    fromEnv(cfg, section, env) {
      const versions = env['OPR_EXECUTOR_RUNTIME_VERSIONS'];
      const next = {
        ...section,
        ...(env['OPR_EXECUTOR_SECRET'] === undefined ? {} : { secret: env['OPR_EXECUTOR_SECRET'] }),
        ...(env['OPR_EXECUTOR_CONNECTION_STORAGE'] === undefined
          ? {}
          : { storage: env['OPR_EXECUTOR_CONNECTION_STORAGE'] }),
        inactiveThresholdS: seconds(env, 'OPR_EXECUTOR_INACTIVE_THRESHOLD') ?? section.inactiveThresholdS,
        maintenanceIntervalS:
          seconds(env, 'OPR_EXECUTOR_MAINTENANCE_INTERVAL') ?? section.maintenanceIntervalS,
        ...(versions === undefined || versions === ''
          ? {}
          : { runtimeVersions: versions.split(',').map((v) => v.trim()) }),
      };
      const parsed = sectionSchema.safeParse(next);
      if (!parsed.success) {
        throw config(`OPR_EXECUTOR_* variables: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      }
      cfg.compat['openruntimes'] = parsed.data;
    },
  },
  flavors: [OPENRUNTIMES_FLAVOR],
  flags: openruntimesFlags,
  async enable(ctx, section) {
    if (section.secret === '') {
      throw config(
        'compat.openruntimes needs a key for its executor API: set OPR_EXECUTOR_SECRET (or compat.openruntimes.secret)',
      );
    }
    if (!/^file:\/\//.test(section.storage)) {
      throw config(
        `OPR_EXECUTOR_CONNECTION_STORAGE=${section.storage}: this executor serves file:// storage only (its root is compat.openruntimes.storageRoot)`,
      );
    }
    const { startOpenRuntimes } = await import('./start.js');
    const version = executorVersion();
    return {
      listeners: {
        openruntimes: (trigger) => startOpenRuntimes(ctx, section, version, trigger),
      },
      ports: [
        {
          listener: 'Open Runtimes executor API',
          protocol: 'tcp',
          host: section.host,
          port: section.port,
          setting: 'compat.openruntimes.port',
        },
      ],
      notes: [],
    };
  },
};
