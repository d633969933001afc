/** The `mqtt` section of the configuration: the trigger, the embedded broker and its users, or an external broker. */
import { z } from 'zod';
import { bytes, maxConnections, MiB, port, PUBLIC_HOST } from './config-fields.js';

/** Topic filters of an embedded broker user's access list (MQTT wildcards `+` and `#`). */
const mqttFilters = z.array(z.string().min(1).max(1_024)).max(256).default([]);

/** A user of the embedded MQTT broker: a password (or a file holding it) and what it may publish and subscribe to. */
const mqttUser = z
  .object({
    username: z.string().min(1).max(256),
    /** At least 12 characters: the broker takes as many guesses as clients can send CONNECTs. */
    password: z.string().min(12).max(1_024).optional(),
    passwordFile: z.string().min(1).optional(),
    publish: mqttFilters,
    subscribe: mqttFilters,
  })
  .strict()
  .refine((user) => (user.password === undefined) !== (user.passwordFile === undefined), {
    message: 'give a user either password or passwordFile',
  });

/** MQTT trigger: rules in skiff.json `triggers.mqtt`, an embedded broker or an external one. */
export const mqttConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The embedded broker (aedes); off when `url` points at an external broker. */
    broker: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default(PUBLIC_HOST),
        port: port.default(1883),
        /** Clients without a user name may connect (with the default user's rights). Off: every client logs in. */
        allowAnonymous: z.boolean().default(false),
        /** Users besides the generated default one, each limited to its topic filters. */
        users: z.array(mqttUser).max(1_000).default([]),
        /** Connections at once; more are closed as they come. */
        maxConnections: maxConnections(1024),
        /** Connections at once from one client address (also capped by connections.maxPerAddress). */
        maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(64),
        /** Of those, connections that have not logged in yet (they get 2 s to do so); over it the oldest is closed. */
        maxPendingLoginsPerAddress: z.number().int().min(1).max(100_000).default(8),
        /** Retained messages the broker holds, in all, per user, their bytes in all and the largest one. */
        maxRetained: z.number().int().min(0).max(1_000_000).default(1_000),
        maxRetainedPerUser: z.number().int().min(0).max(1_000_000).default(100),
        maxRetainedBytes: bytes(16 * MiB, 1024 * MiB),
        maxRetainedPayloadBytes: bytes(64 * 1024, 16 * MiB),
        /** Subscriptions one client holds, and the longest topic filter (bytes). */
        maxSubscriptionsPerClient: z.number().int().min(1).max(100_000).default(100),
        maxFilterLength: z.number().int().min(1).max(65_535).default(256),
        /** Persistent sessions (clean: false) per user and in all. */
        maxPersistentSessionsPerUser: z.number().int().min(0).max(100_000).default(16),
        maxPersistentSessions: z.number().int().min(0).max(1_000_000).default(1_000),
        /** Messages queued for one offline persistent session, their bytes, and the bytes of all queues. */
        maxQueuedPerSession: z.number().int().min(1).max(1_000_000).default(1_000),
        maxQueuedBytesPerSession: bytes(4 * MiB, 1024 * MiB),
        maxQueuedBytes: bytes(64 * MiB, 4096 * MiB),
      })
      .strict()
      .prefault({}),
    /** An external broker to connect to instead, e.g. mqtt://127.0.0.1:1883. */
    url: z.string().min(1).nullable().default(null),
    /** The platform's user name and password at the external broker (instead of those in `url`). */
    username: z.string().min(1).nullable().default(null),
    password: z.string().min(1).nullable().default(null),
    /** A file holding the password (one line), instead of `password`. */
    passwordFile: z.string().min(1).nullable().default(null),
    maxPayloadBytes: bytes(256 * 1024, MiB),
  })
  .strict()
  .refine((mqtt) => mqtt.password === null || mqtt.passwordFile === null, {
    message: 'give either mqtt.password or mqtt.passwordFile, not both',
  })
  .prefault({});
