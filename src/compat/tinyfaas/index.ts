/**
 * tinyFaaS as a dialect (docs/compat/tinyfaas.md): with `compat.tinyfaas.enabled` (`skiff serve
 * --tinyfaas`), its management API on the control port, its invocation rules on the whole HTTP gateway
 * port (clients call `/<name>` on port 8000), its gRPC service beside Skiff's, and its listener variables
 * (HTTP_PORT, COAP_PORT, GRPC_PORT). Its function flavor is known whether or not the dialect is enabled.
 */
import { z } from 'zod';
import type { Dialect } from '../dialect.js';
import { TINYFAAS_FLAVOR } from './flavor.js';
import { TINYFAAS_RULES } from './http.js';
import { applyTinyFaasPorts } from './ports.js';
import { tinyfaasFlags } from './flags.js';

/** `compat.tinyfaas`. */
const sectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Upstream's trust model: the management API needs no token from loopback (risky). */
    trustLoopback: z.boolean().default(false),
  })
  .strict()
  .prefault({});

export type TinyFaasSection = z.infer<typeof sectionSchema>;

export const tinyfaas: Dialect<TinyFaasSection> = {
  name: 'tinyfaas',
  config: {
    schema: sectionSchema,
    fromEnv(config, section, env) {
      if (section.enabled) applyTinyFaasPorts(config, env);
    },
  },
  flavors: [TINYFAAS_FLAVOR],
  flags: tinyfaasFlags,
  async enable(ctx, section) {
    const { config } = ctx;
    // loaded when enabled only: the CLI reads this record for its flags and stays light
    const [{ addTinyFaasService }, { createTinyFaasManagement }] = await Promise.all([
      import('./grpc.js'),
      import('./management.js'),
    ]);
    if (section.trustLoopback) {
      ctx.logger.warn(
        'tinyFaaS mode trusts loopback: /upload, /uploadURL, /delete, /list, /wipe and /logs need no token from 127.0.0.1 or ::1, so every local user and every function with network access can deploy and run code here',
      );
    } else {
      ctx.logger.info('tinyFaaS mode: its management API on the control port needs the admin token');
    }
    return {
      gateway: { rules: TINYFAAS_RULES, mount: { on: 'function-port' } },
      management: {
        handler: createTinyFaasManagement({
          registry: ctx.registry,
          deployer: ctx.deployer,
          logs: ctx.logs,
          token: ctx.token,
          logger: ctx.logger,
          endpoints: ctx.endpoints,
          maxUploadBytes: config.build.maxUploadBytes,
          maxInstances: config.scaling.maxInstances,
          trustLoopback: section.trustLoopback,
          outbound: config.outbound,
        }),
      },
      grpcServices: [addTinyFaasService],
      notes: section.trustLoopback
        ? [
            '⚠ tinyFaaS management API without token from loopback: every local user and every function with network access can deploy code',
          ]
        : [],
    };
  },
};
