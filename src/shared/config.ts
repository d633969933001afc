import { z } from 'zod';
import { DEFAULT_SCALING, scalingFields } from '../model/scaling.js';
import { DEFAULT_STATE_LIMITS } from '../model/state.js';
import { DEFAULT_BUILD_LIMITS, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, limitFields } from '../model/limits.js';
import { bytes, maxConnections, MiB, millis, port, PUBLIC_HOST } from './config-fields.js';
import { asyncConfigSchema } from './config-async.js';
import { mqttConfigSchema } from './config-mqtt.js';
import { memoryConfigSchema } from './config-memory.js';

/** The platform configuration: one schema for the file, the environment and the flags. */
export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('.skiff'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** The platform log on stderr: `auto` is human lines on a terminal, else JSON lines (pino). */
    logFormat: z.enum(['auto', 'json', 'human']).default('auto'),
    control: z
      .object({
        /** `localhost` listens on 127.0.0.1 and ::1. */
        host: z.string().min(1).default('localhost'),
        port: port.default(8080),
        maxConnections: maxConnections(256),
        /** Log streams open at once (`skiff logs -f`); one more is refused with 429. */
        maxLogStreams: z.number().int().min(1).max(10_000).default(32),
        /**
         * Names the control API may be called by besides the address it listens on (a DNS name or a
         * reverse proxy's `Host`); any other `Host` is refused, against DNS rebinding.
         */
        allowedHosts: z.array(z.string().min(1).max(253)).max(100).default([]),
        /**
         * A read-only token for `GET /metrics` (a Prometheus server's), besides the admin token; also
         * SKIFF_METRICS_TOKEN. No flag: a flag shows in the process list.
         */
        metricsToken: z
          .string()
          .regex(/^[\x21-\x7e]{16,512}$/, 'at least 16 and at most 512 printable characters, no spaces')
          .nullable()
          .default(null),
        /** `GET /metrics` without a token: only for a control listener that only trusted hosts reach. */
        metricsPublic: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        host: z.string().min(1).default(PUBLIC_HOST),
        port: port.default(8000),
        /**
         * DNS names the gateway is reached by (`fn.example.com`): no function's skiff.json `routes` may
         * claim them, and they always route by function name, even under a function's `*.` wildcard.
         */
        publicHosts: z.array(z.string().min(1).max(253)).max(100).default([]),
        maxBodyBytes: bytes(6 * MiB),
        maxConnections: maxConnections(8192),
        /** Requests one client address (an IPv6 /64) may have in progress at once; then 429. */
        maxInFlightPerAddress: z.number().int().min(1).max(1_000_000).default(256),
      })
      .strict()
      .prefault({}),
    /** Connection limits and deadlines of the TCP listeners (gateway, control API, gRPC, MQTT broker). */
    connections: z
      .object({
        /** Connections one client address (an IPv6 /64) may hold open on one listener. */
        maxPerAddress: z.number().int().min(1).max(1_000_000).default(256),
        /** A connection that sends no byte within this is closed. */
        idleTimeoutMs: millis(10_000),
        /** HTTP: the request line and headers must arrive within this. */
        headersTimeoutMs: millis(10_000),
        /** HTTP: a request body that does not progress, or a response the client does not read, for this long. */
        bodyIdleTimeoutMs: millis(10_000),
        /** HTTP: the whole request, body included, must arrive within this. */
        requestTimeoutMs: millis(300_000),
        /** HTTP: an idle keep-alive connection is closed after this. */
        keepAliveTimeoutMs: millis(5_000),
        /** File descriptors kept out of the listeners' caps: instances, SQLite, logs, builds. */
        reserveFds: z.number().int().min(0).max(1_000_000).default(1024),
      })
      .strict()
      .prefault({}),
    functions: z
      .object({
        defaultTimeoutMs: millis(30_000),
        maxTimeoutMs: millis(300_000),
        startTimeoutMs: millis(10_000),
        maxResponseBytes: bytes(6 * MiB),
        /** Versions kept per function; a deploy beyond deletes the oldest (never the live one or a draining one). */
        maxVersions: z.number().int().min(2).max(10_000).default(20),
        /** The highest `maxInstances` a function may ask for (skiff.json, deploy parameters, `skiff fn scale`). */
        maxInstancesCeiling: scalingFields.maxInstances.default(20),
        /** How deep a chain of `ctx.call`s may go; a call beyond is refused with SKIFF_E_CALL_DEPTH. */
        maxCallDepth: z.number().int().min(1).max(64).default(8),
        /**
         * Calls in flight at once in one chain (all calls under one root invocation); more are refused
         * with SKIFF_E_TOO_MANY_REQUESTS, so a chain that fans out or loops cannot take the platform.
         */
        maxChainCalls: z.number().int().min(1).max(100_000).default(256),
        /**
         * Casts one chain (everything under one root invocation) may make in all, counted in the queue;
         * more are refused with SKIFF_E_TOO_MANY_REQUESTS, so casts that fan out or loop stay bounded.
         */
        maxChainCasts: z.number().int().min(1).max(1_000_000).default(1000),
      })
      .strict()
      .prefault({}),
    /** gRPC trigger: service skiff.v1.Invoker (proto/skiff/v1/invoker.proto), with server reflection. */
    grpc: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default(PUBLIC_HOST),
        port: port.default(9000),
        maxMessageBytes: bytes(4 * MiB),
        maxConnections: maxConnections(1024),
      })
      .strict()
      .prefault({}),
    /** CoAP trigger (UDP): GET/POST/PUT coap://host/<name>. */
    coap: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default(PUBLIC_HOST),
        port: port.default(5683),
        /** Largest request payload after block-wise reassembly. */
        maxPayloadBytes: bytes(1 * MiB),
        /** Block-wise uploads in progress (and responses kept) for one client address; its oldest make way. */
        maxTransfersPerClient: z.number().int().min(1).max(1_000).default(8),
        /** Bytes those may hold for one client address (at least maxPayloadBytes). */
        maxBytesPerClient: bytes(4 * MiB),
      })
      .strict()
      .prefault({}),
    /** MQTT trigger: rules in skiff.json `triggers.mqtt`, an embedded broker or an external one. */
    mqtt: mqttConfigSchema,
    /** Cron trigger: schedules in skiff.json `triggers.cron`. */
    cron: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .prefault({}),
    /** Asynchronous invocations (`X-Skiff-Async: true` or `Prefer: respond-async`): the durable queue. */
    async: asyncConfigSchema,
    memory: memoryConfigSchema,
    /** Per-function state (`/v1/functions/{name}/state`, `skiff state`): its caps. */
    state: z
      .object({
        /** The largest value; a bigger one gets 413 SKIFF_E_STATE_TOO_LARGE. */
        maxValueBytes: bytes(DEFAULT_STATE_LIMITS.maxValueBytes),
        /** Bytes of one function's keys and values; a set beyond gets 507 SKIFF_E_STATE_FULL. */
        maxBytesPerFunction: bytes(DEFAULT_STATE_LIMITS.maxBytesPerFunction, Number.MAX_SAFE_INTEGER),
        /** Keys of one function; one more gets 507 SKIFF_E_STATE_FULL. */
        maxKeysPerFunction: z
          .number()
          .int()
          .min(1)
          .max(10_000_000)
          .default(DEFAULT_STATE_LIMITS.maxKeysPerFunction),
      })
      .strict()
      .prefault({}),
    /** The data directory's disk. */
    disk: z
      .object({
        /**
         * A file of this size kept in the data directory and deleted when the disk is full, so that
         * deletes and SQLite's checkpoints can still write; made again once there is room. 0: none.
         */
        ballastBytes: z
          .number()
          .int()
          .min(0)
          .max(1024 * MiB)
          .default(8 * MiB),
        /**
         * Free space kept for the platform's own writes: async accepts and deploys that would leave
         * less get 507 SKIFF_E_DISK_FULL. 0: only a really full disk refuses them.
         */
        reserveBytes: z
          .number()
          .int()
          .min(0)
          .max(Number.MAX_SAFE_INTEGER)
          .default(64 * MiB),
      })
      .strict()
      .prefault({}),
    /** Default scaling of every function; skiff.json and `skiff fn scale` override it per function. */
    scaling: z
      .object({
        minInstances: scalingFields.minInstances.default(DEFAULT_SCALING.minInstances),
        maxInstances: scalingFields.maxInstances.default(DEFAULT_SCALING.maxInstances),
        concurrency: scalingFields.concurrency.default(DEFAULT_SCALING.concurrency),
        maxQueue: scalingFields.maxQueue.default(DEFAULT_SCALING.maxQueue),
        maxQueueWaitMs: scalingFields.maxQueueWaitMs.default(DEFAULT_SCALING.maxQueueWaitMs),
        idleTimeoutMs: scalingFields.idleTimeoutMs.default(DEFAULT_SCALING.idleTimeoutMs),
      })
      .strict()
      .prefault({}),
    /** How instances are isolated (docs: README "Sandbox"). */
    sandbox: z
      .object({
        mode: z.enum(['auto', 'bubblewrap', 'none']).default('auto'),
        /** With `auto`: run plain processes when bubblewrap does not work, rather than refuse to start. */
        insecureNoSandbox: z.boolean().default(false),
        /** The bubblewrap executable. */
        bwrap: z.string().min(1).default('bwrap'),
        /** The slirp4netns executable: the NAT of an outbound instance's own network namespace. */
        slirp4netns: z.string().min(1).default('slirp4netns'),
        /**
         * With root: the first of the 65536 host ids sandboxes run as (its group, then one uid per
         * sandbox). No user, group or subordinate id range of the machine may touch the range.
         */
        uidBase: z
          .number()
          .int()
          .min(65_536)
          .max(4_294_967_294 - 65_536)
          .default(2_000_000_000),
        /** Default limits of every instance; skiff.json `limits` overrides them per function. */
        limits: z
          .object({
            memoryMb: limitFields.memoryMb.default(DEFAULT_LIMITS.memoryMb),
            cpus: limitFields.cpus.default(DEFAULT_LIMITS.cpus),
            pids: limitFields.pids.default(DEFAULT_LIMITS.pids),
            tmpMb: limitFields.tmpMb.default(DEFAULT_LIMITS.tmpMb),
            openFiles: limitFields.openFiles.default(DEFAULT_LIMITS.openFiles),
            fileSizeMb: limitFields.fileSizeMb.default(DEFAULT_LIMITS.fileSizeMb),
          })
          .strict()
          .prefault({}),
        /** The most a function's skiff.json `limits` may ask for; a deploy asking for more gets 400. */
        maxLimits: z
          .object({
            memoryMb: limitFields.memoryMb.default(DEFAULT_MAX_LIMITS.memoryMb),
            cpus: limitFields.cpus.default(DEFAULT_MAX_LIMITS.cpus),
            pids: limitFields.pids.default(DEFAULT_MAX_LIMITS.pids),
            tmpMb: limitFields.tmpMb.default(DEFAULT_MAX_LIMITS.tmpMb),
            openFiles: limitFields.openFiles.default(DEFAULT_MAX_LIMITS.openFiles),
            fileSizeMb: limitFields.fileSizeMb.default(DEFAULT_MAX_LIMITS.fileSizeMb),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    executor: z
      .object({
        /**
         * Pre-started generic bridge processes per runtime (no user code loaded), specialised on demand
         * so that a cold start skips the process start. 0 turns it off for that runtime.
         */
        warmPool: z
          .object({
            node: z.number().int().min(0).max(16).default(1),
            python: z.number().int().min(0).max(16).default(1),
            binary: z.number().int().min(0).max(16).default(0),
          })
          .strict()
          .prefault({}),
        /** On SIGTERM: how long in-flight invocations may take before their instances are killed. */
        drainTimeoutMs: millis(10_000),
        /** After a redeploy or a scale-down: how long the old instances may finish their work. */
        retireGraceMs: millis(30_000),
        /** Invocations running or queued at once over all functions; one more gets 429 (G5). */
        maxInFlight: z.number().int().min(1).max(1_000_000).default(10_000),
        /**
         * The instances alive at once over all functions: the sum of their memory limits (MiB) and
         * their count. A start that does not fit stops idle instances, least recently used first, or
         * waits for room. Unset: half the host's memory (never below sandbox.maxLimits.memoryMb) and
         * 32 instances per CPU (at least 8).
         */
        budget: z
          .object({
            memoryMb: z.number().int().min(32).max(16_777_216).optional(),
            instances: z.number().int().min(1).max(1_000_000).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    build: z
      .object({
        timeoutMs: millis(300_000),
        npmCommand: z.string().min(1).default('npm'),
        npmScripts: z.boolean().default(false),
        /** Extra `pip install` arguments, e.g. ["--no-index", "--find-links", "/srv/wheels"] offline. */
        pipArgs: z.array(z.string()).default([]),
        maxUploadBytes: bytes(50 * MiB, Number.MAX_SAFE_INTEGER),
        /**
         * Network of build steps (npm, pip): `registry` gives the steps that install dependencies
         * outbound access through the platform's build proxy (public addresses only); `none` gives none.
         */
        network: z.enum(['none', 'registry']).default('registry'),
        /** Let the build proxy reach loopback, private and link-local addresses (a registry on the LAN). */
        privateRegistries: z.boolean().default(false),
        /** Host folders bound read-only into every build sandbox (e.g. a wheel or tarball mirror). */
        readOnlyPaths: z.array(z.string().min(1)).default([]),
        /** Limits of every build step's sandbox (cgroup, rlimits, /tmp). */
        limits: z
          .object({
            memoryMb: limitFields.memoryMb.default(DEFAULT_BUILD_LIMITS.memoryMb),
            cpus: limitFields.cpus.default(DEFAULT_BUILD_LIMITS.cpus),
            pids: limitFields.pids.default(DEFAULT_BUILD_LIMITS.pids),
            tmpMb: limitFields.tmpMb.default(DEFAULT_BUILD_LIMITS.tmpMb),
            openFiles: limitFields.openFiles.default(DEFAULT_BUILD_LIMITS.openFiles),
            fileSizeMb: limitFields.fileSizeMb.default(DEFAULT_BUILD_LIMITS.fileSizeMb),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Requests the platform makes to URLs strangers choose (async callbacks, compatibility APIs' downloads). */
    outbound: z
      .object({
        /** Allow loopback, link-local, private and the machine's own addresses as destinations. */
        allowPrivate: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /**
     * Compatibility APIs of other FaaS platforms (docs/compat/): `compat.<name>`, one section each, whose
     * schemas the composition root passes in (configSchemaWith); each is off by default.
     */
    compat: z.record(z.string(), z.unknown()).default({}),
    runtimes: z
      .object({
        /** Interpreter of the Node bridge. */
        node: z.string().min(1).default(process.execPath),
        /** Interpreter of the Python bridge and of pip at build time. */
        python: z.string().min(1).default('/usr/bin/python3'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // the platform's own defaults must fit under the ceilings it sets for functions
    for (const [key, value] of Object.entries(config.sandbox.limits)) {
      const max = config.sandbox.maxLimits[key as keyof typeof config.sandbox.maxLimits];
      if (value > max)
        ctx.addIssue({
          code: 'custom',
          path: ['sandbox', 'limits', key],
          message: `${value} is above sandbox.maxLimits.${key} (${max})`,
        });
    }
    const budgetMb = config.executor.budget.memoryMb;
    if (budgetMb !== undefined && budgetMb < config.sandbox.maxLimits.memoryMb)
      ctx.addIssue({
        code: 'custom',
        path: ['executor', 'budget', 'memoryMb'],
        message: `${budgetMb} is below sandbox.maxLimits.memoryMb (${config.sandbox.maxLimits.memoryMb}): a function may ask for more than the budget holds`,
      });
    if (config.state.maxValueBytes > config.state.maxBytesPerFunction)
      ctx.addIssue({
        code: 'custom',
        path: ['state', 'maxValueBytes'],
        message: `${config.state.maxValueBytes} is above state.maxBytesPerFunction (${config.state.maxBytesPerFunction})`,
      });
    if (config.scaling.maxInstances > config.functions.maxInstancesCeiling)
      ctx.addIssue({
        code: 'custom',
        path: ['scaling', 'maxInstances'],
        message: `${config.scaling.maxInstances} is above functions.maxInstancesCeiling (${config.functions.maxInstancesCeiling})`,
      });
  });

/**
 * The configuration schema with the sections of compatibility APIs under `compat` (name → a schema that
 * gives its defaults for undefined): `compat` then holds exactly those, each parsed, unknown names refused.
 */
export function configSchemaWith(sections: Readonly<Record<string, z.ZodType>>): typeof configSchema {
  const compat = z
    .object({ ...sections })
    .strict()
    .prefault({});
  // safeExtend keeps the checks above (extend would refuse a refined object)
  return configSchema.safeExtend({ compat }) as unknown as typeof configSchema;
}

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
