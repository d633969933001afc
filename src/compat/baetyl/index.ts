/**
 * OpenEdge / Baetyl as a dialect (docs/compat/baetyl.md). Its function flavors (`baetyl`, `openedge`,
 * flavor.ts) are known whether or not the dialect is enabled; `compat.baetyl.enabled` (`skiff serve
 * --baetyl`) adds its gRPC services on Skiff's gRPC server (grpc.ts), the v2 HTTP proxy on its own port
 * (proxy.ts) and the configuration import on the management API (import-api.ts).
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { BAETYL_FLAVOR, OPENEDGE_FLAVOR } from './flavor.js';

/** `compat.baetyl`. */
const sectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** `message.length.max`: the most a gRPC message (request or reply) may hold. */
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4_194_304),
    /** The v2 HTTP proxy (`baetyl-function`): `/<service>[/<function>]`, plain HTTP. */
    proxy: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(50_011),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type BaetylSection = z.infer<typeof sectionSchema>;

export const baetyl: Dialect<BaetylSection> = {
  name: 'baetyl',
  config: { schema: sectionSchema },
  flavors: [BAETYL_FLAVOR, OPENEDGE_FLAVOR],
  flags: [
    {
      flag: '--baetyl',
      description:
        'OpenEdge / Baetyl: its gRPC services, v2 HTTP proxy and configuration import (docs/compat/baetyl.md)',
      sets: 'enabled',
    },
  ],
  enable: async (ctx, section) => {
    const { createImportApi } = await import('./import-api.js');
    return {
      management: {
        handler: createImportApi({
          deployer: ctx.deployer,
          token: ctx.token,
          logger: ctx.logger,
          maxUploadBytes: ctx.config.build.maxUploadBytes,
          facts: () => ({
            maxInstancesCeiling: ctx.config.functions.maxInstancesCeiling,
            maxTimeoutMs: ctx.config.functions.maxTimeoutMs,
            maxMessageBytes: section.maxMessageBytes,
            brokerUrl: ctx.config.mqtt.url ?? ctx.endpoints()['mqtt'],
          }),
        }),
      },
    };
  },
};
