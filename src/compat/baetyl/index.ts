/**
 * OpenEdge / Baetyl as a dialect (docs/compat/baetyl.md). Its function flavors (`baetyl`, `openedge`,
 * flavor.ts) are known whether or not the dialect is enabled; `compat.baetyl.enabled` (`skiff serve
 * --baetyl`) adds its gRPC services on Skiff's gRPC server (grpc.ts), the v2 HTTP proxy on its own port
 * (proxy.ts) and the configuration import on the management API (import-api.ts).
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { BAETYL_FLAVOR, OPENEDGE_FLAVOR } from './flavor.js';
import { baetylFlags } from './flags.js';

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
  flags: baetylFlags,
  async enable(ctx, section) {
    // the gRPC services (grpc.ts) and the v2 proxy (proxy.ts) share the recorded services (services.ts),
    // which the configuration import (import-api.ts) writes
    const [{ baetylGrpcService, grpcNotes }, { startProxy }, { servicesFor }, { createImportApi }] =
      await Promise.all([
        import('./grpc.js'),
        import('./proxy.js'),
        import('./services.js'),
        import('./import-api.js'),
      ]);
    const services = servicesFor(ctx.config.dataDir);
    const lookupService = (service: string) => services.lookup(service);
    const { maxMessageBytes, proxy } = section;
    return {
      grpcServices: [baetylGrpcService({ maxMessageBytes, lookupService })],
      ...(proxy.enabled
        ? {
            listeners: {
              proxy: (trigger) => startProxy(trigger, { ...proxy, maxMessageBytes, lookupService }),
            },
            ports: [
              {
                listener: 'Baetyl function proxy',
                protocol: 'tcp' as const,
                host: proxy.host,
                port: proxy.port,
                setting: 'compat.baetyl.proxy.port',
              },
            ],
          }
        : {}),
      management: {
        handler: createImportApi({
          deployer: ctx.deployer,
          token: ctx.token,
          logger: ctx.logger,
          maxUploadBytes: ctx.config.build.maxUploadBytes,
          facts: () => ({
            maxInstancesCeiling: ctx.config.functions.maxInstancesCeiling,
            maxTimeoutMs: ctx.config.functions.maxTimeoutMs,
            maxMessageBytes,
            brokerUrl: ctx.config.mqtt.url ?? ctx.endpoints()['mqtt'],
          }),
          recordService: (service, functions) => services.set(service, functions),
          existingFlavor: (name) => {
            const fn = ctx.registry.getFunction(name);
            if (fn === undefined || fn.liveVersion === null) return undefined;
            return ctx.registry.getVersion(name, fn.liveVersion)?.spec.flavor ?? 'native';
          },
        }),
      },
      notes: grpcNotes(ctx.config.grpc, maxMessageBytes),
    };
  },
};
