import { z } from 'zod';
import { NAME_PATTERN, RUNTIME_NAMES } from './names.js';
import { cronRuleProblem } from './cron-schedule.js';
import { mqttRuleProblem } from './mqtt-topics.js';
import { scalingInputSchema, type ScalingInput } from './scaling.js';
import { corsSchema, type CorsInput } from './cors.js';
import { routesSchema, type HostRoute } from './host-routes.js';
import { limitsInputSchema, NETWORK_MODES, type LimitsInput, type NetworkMode } from './limits.js';

export { NAME_PATTERN, RUNTIME_NAMES };

/** A function's name: in skiff.json, in every control API path and in the gateway's URLs. */
export const functionNameSchema = z
  .string()
  .regex(NAME_PATTERN, 'use 1-63 lower-case letters, digits and dashes')
  .meta({ description: 'Function name: 1-63 lower-case letters, digits and dashes.' });

/**
 * A calling convention's name: `native`, or a compatibility flavor (model/flavor.ts); which names exist
 * is checked at deploy against the flavors compiled in.
 */
export type FlavorName = string;
/** What a flavor name looks like in skiff.json (whether it exists is checked at deploy). */
export const FLAVOR_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** Runtime names with a version, as some platforms write them (`node20`, `python311`, `python3`). */
const VERSIONED_RUNTIME = /^(node)\d{1,2}$|^(python)3\d{0,2}$/;

/**
 * A raw skiff.json with a versioned runtime name (`node20`, `python311`) given as its language
 * (`node`, `python`): Skiff runs the Node or Python it has, whatever the version asked for. Anything
 * else is returned as it is, for the schema to judge.
 */
export function withLanguageRuntime(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const runtime = (raw as Record<string, unknown>)['runtime'];
  const match = typeof runtime === 'string' ? VERSIONED_RUNTIME.exec(runtime) : null;
  if (match === null) return raw;
  return { ...raw, runtime: match[1] ?? match[2] };
}

/** An MQTT rule: messages on `subscribe` (a topic filter) invoke the function; a non-empty result goes to `publish`. */
export const mqttRuleSchema = z
  .object({
    subscribe: z.string().min(1).max(1024),
    publish: z.string().min(1).max(1024).optional(),
    /** QoS of the subscription and the most the result is published with. */
    qos: z.union([z.literal(0), z.literal(1)]).default(1),
    /** The most the result is published with, when lower than `qos` (the result gets the lower of it and the message's). */
    publishQos: z.union([z.literal(0), z.literal(1)]).optional(),
    /** Calls of the function per message in all when it fails (an error, a timeout, a 5xx): 1 (the default) to 10. */
    attempts: z.number().int().min(1).max(10).optional(),
    /** After the last failed attempt: `drop` (log it, the default) or `publish` a failure record to `publish`. */
    onError: z.enum(['drop', 'publish']).optional(),
    /** A message larger than this is a failure without a call (`SKIFF_E_PAYLOAD_TOO_LARGE`): no limit but the broker's by default. */
    maxPayloadBytes: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const problem = mqttRuleProblem(rule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The length of `value` as JSON, or undefined when it is nested too deep to serialise (a stack overflow). */
function jsonSize(value: unknown): number | undefined {
  try {
    return JSON.stringify(value).length;
  } catch {
    return undefined;
  }
}

/** A cron schedule: 5 or 6 fields (seconds first), in a time zone (IANA name, default UTC). */
export const cronRuleSchema = z
  .object({
    schedule: z.string().min(9).max(200),
    timezone: z.string().min(1).max(100).default('UTC'),
    /** Start a run while the previous one of this schedule has not finished. */
    overlap: z.boolean().default(false),
    /** The request body of every run. */
    body: z
      .string()
      .max(256 * 1024)
      .default(''),
    /** Arguments of every run, sent as its JSON body (`application/json`) instead of `body`. */
    args: z.unknown().optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const problem = cronRuleProblem(rule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    if (rule.args !== undefined && rule.body !== '') {
      ctx.addIssue({ code: 'custom', message: 'give a cron rule either "body" or "args", not both' });
    }
    if (rule.args !== undefined) {
      const size = jsonSize(rule.args);
      if (size === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'a cron rule\'s "args" are nested too deep to send as JSON',
        });
      } else if (size > 256 * 1024) {
        ctx.addIssue({ code: 'custom', message: 'a cron rule\'s "args" take at most 256 KiB as JSON' });
      }
    }
  });

export const triggersSchema = z
  .object({
    mqtt: z.array(mqttRuleSchema).max(32).optional(),
    cron: z.array(cronRuleSchema).max(32).optional(),
  })
  .strict();

export type MqttRule = z.infer<typeof mqttRuleSchema>;
export type CronRule = z.infer<typeof cronRuleSchema>;

/**
 * Who may reach the function: `callers` may `ctx.call` it (absent: any function); `private` functions
 * answer the gateway and gRPC only with a token (docs/security.md "Private functions").
 */
export const accessSchema = z
  .object({
    callers: z.array(z.string().regex(NAME_PATTERN, 'use function names')).max(64).optional(),
    private: z.boolean().optional(),
  })
  .strict();

export type Access = z.infer<typeof accessSchema>;

/** `skiff.json`: the function's spec, as written by the user (every field optional). */
export const specSchema = z
  .object({
    name: functionNameSchema.optional(),
    runtime: z.enum(RUNTIME_NAMES).optional(),
    handler: z.string().min(1).optional(),
    description: z.string().max(1000).optional(),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _'),
        z.string(),
      )
      .optional(),
    timeoutMs: z.number().int().min(1).optional(),
    /** How long an instance may take to load the function (default `functions.startTimeoutMs`). */
    startTimeoutMs: z.number().int().min(1).optional(),
    /** `custom` and `http` runtimes: the command to start; a string runs through /bin/sh -c. */
    command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** minInstances, maxInstances, concurrency, maxQueue, maxQueueWaitMs, idleTimeoutMs (README). */
    scaling: scalingInputSchema.optional(),
    /** memoryMb, cpus, pids, tmpMb, openFiles, fileSizeMb (README "Sandbox"). */
    limits: limitsInputSchema.optional(),
    /** `none` (loopback only, the default) or `outbound`. */
    network: z.enum(NETWORK_MODES).optional(),
    /** The calling convention: `native` (default) or a compatibility flavor (model/flavor.ts). */
    flavor: z
      .string()
      .regex(FLAVOR_PATTERN, 'a flavor name is lower-case letters, digits and dashes')
      .optional(),
    /** Event sources beyond HTTP, gRPC and CoAP (which reach every function). */
    triggers: triggersSchema.optional(),
    /** `callers`: the functions that may call this one (absent: every function); `private`: token needed. */
    access: accessSchema.optional(),
    /** Which web origins may call it from a browser; preflights answered by the gateway (model/cors.ts). */
    cors: corsSchema.optional(),
    /** Hosts whose requests reach it at the gateway's root (model/host-routes.ts). */
    routes: routesSchema.optional(),
  })
  .strict();

export type SpecInput = z.infer<typeof specSchema>;

/** The resolved spec stored with every version. */
export interface FunctionSpec {
  name: string;
  runtime: RuntimeName;
  handler: string | null;
  description: string;
  env: Record<string, string>;
  timeoutMs: number | null;
  /** How long an instance may take to load it; absent: `functions.startTimeoutMs`. */
  startTimeoutMs?: number;
  /** `custom` and `http` runtimes: argv of the command to start. */
  command: string[] | null;
  /** Scaling settings of this version (skiff.json and deploy parameters); absent in older versions. */
  scaling?: ScalingInput;
  /** Resource limits of this version's instances; absent in older versions. */
  limits?: LimitsInput;
  network?: NetworkMode;
  /** The calling convention; absent (native) in older versions. */
  flavor?: FlavorName;
  /** MQTT rules and cron schedules of this version; absent in older versions. */
  triggers?: { mqtt?: MqttRule[]; cron?: CronRule[] };
  /** Who may call it (`access.callers`; absent: every function) and whether it is private. */
  access?: { callers?: string[]; private?: boolean };
  /** CORS answered by the gateway; absent: requests (OPTIONS included) reach the function as they are. */
  cors?: CorsInput;
  /** Hosts routed to it at the gateway's root (host names lower case). */
  routes?: HostRoute[];
}
