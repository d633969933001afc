/**
 * What the control API's routes answer, as zod schemas: openapi.ts generates the document's response
 * schemas from them. The handlers build their answers as typed views (`satisfies` these types, see
 * functions.ts), and test/openapi.test.ts validates real answers of a running platform against the
 * generated document, so a field added to a view without its schema fails there.
 */
import { z } from 'zod';
import { limitsInputSchema, NETWORK_MODES } from '../model/limits.js';
import { scalingFields, scalingInputSchema } from '../model/scaling.js';
import {
  accessSchema,
  functionNameSchema,
  RUNTIME_NAMES,
  specSchema,
  triggersSchema,
} from '../model/spec.js';
import { STATE_CONTENT_TYPES } from '../model/state.js';
import { ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { ASYNC_STATUSES, secretNameSchema } from './request-schemas.js';

const dateTime = z.iso.datetime();
const count = z.number().int().min(0);

export const errorSchema = z.object({
  error: z.object({
    code: z
      .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
      .meta({ description: 'Stable error code; see docs/errors.md.' }),
    message: z.string().meta({ description: 'Human-readable explanation; not stable.' }),
    details: z.unknown().optional().meta({
      description: 'Extra data for some codes, e.g. `{ version, buildLog }` for a failed build.',
    }),
  }),
});

/** The resolved spec stored with a version (model/spec.ts `FunctionSpec`), from skiff.json's fields. */
export const functionSpecSchema = z
  .object({
    name: functionNameSchema,
    runtime: z.enum(RUNTIME_NAMES),
    handler: z
      .string()
      .nullable()
      .meta({ description: 'Handler file as given; null when found by default.' }),
    description: specSchema.shape.description.unwrap(),
    env: specSchema.shape.env.unwrap(),
    timeoutMs: specSchema.shape.timeoutMs.unwrap().nullable(),
    startTimeoutMs: specSchema.shape.startTimeoutMs,
    command: z.array(z.string()).nullable(),
    scaling: scalingInputSchema.optional(),
    limits: limitsInputSchema.optional(),
    network: z.enum(NETWORK_MODES).optional(),
    flavor: specSchema.shape.flavor,
    triggers: triggersSchema.optional(),
    access: accessSchema.optional(),
    cors: specSchema.shape.cors,
    routes: specSchema.shape.routes,
  })
  .meta({ description: 'The resolved spec (skiff.json plus deploy parameters) stored with a version.' });

export const functionSummarySchema = z.object({
  name: functionNameSchema,
  runtime: z.enum(RUNTIME_NAMES),
  liveVersion: z.number().int().min(1).nullable().meta({ description: 'null until a version built.' }),
  hash: z.string().nullable().meta({ description: 'SHA-256 (hex) of the live version’s code.' }),
  createdAt: dateTime,
  updatedAt: dateTime,
});

export const versionSchema = z.object({
  version: z.number().int().min(1),
  hash: z.string().meta({ description: 'SHA-256 (hex) of the extracted code.' }),
  status: z.enum(['ready', 'failed']),
  live: z.boolean(),
  createdAt: dateTime,
  buildLog: z
    .string()
    .optional()
    .meta({
      description:
        'The build output, at most 64 KiB (its start and its end, with a marker between them). In a ' +
        'function detail only the live version carries it; every version has it at ' +
        '`GET /v1/functions/{name}/versions/{version}` and in a deploy response.',
    }),
  buildMs: count,
});

export const instanceSchema = z.object({
  id: z.uuid(),
  version: z.number().int().min(1),
  state: z.string().meta({ description: 'starting, warm, ready, stopping or exited.' }),
  pid: z.number().int().nullable().meta({
    description: 'The instance’s own process (its bridge inside the sandbox), as the host sees it.',
  }),
  sandboxPid: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'The sandbox’s process (bubblewrap) that `pid` runs below.' }),
  inFlight: count,
  startedAt: dateTime.nullable().meta({ description: 'When it became ready.' }),
  uptimeMs: count.nullable(),
  rssBytes: count
    .nullable()
    .meta({ description: 'Resident memory (VmRSS) of the instance’s own process (`pid`).' }),
  cgroupMemoryBytes: count.nullable().meta({
    description:
      'What the instance’s cgroup charges (memory.current: all its processes, page cache and /tmp included), which its memory limit counts; null without cgroups.',
  }),
  served: count.meta({ description: 'Invocations handed to it.' }),
  fromWarmPool: z.boolean().meta({ description: 'Specialised from a pre-started generic process.' }),
});

export const functionStatusSchema = z.object({
  queued: count.meta({ description: 'Invocations waiting for a free slot.' }),
  inFlight: count,
  coldStarts: count.meta({ description: 'Instances started while an invocation waited for one.' }),
  starts: count.meta({ description: 'Instances started in all.' }),
  failures: count.meta({ description: 'Crashes and failed starts in a row; from 2 on, starts back off.' }),
  backoffUntil: dateTime.nullable().meta({
    description: 'Set while a crash loop holds the next start back; calls then get 503 SKIFF_E_CRASH_LOOP.',
  }),
  recentErrors: z
    .array(z.object({ at: dateTime, code: errorSchema.shape.error.shape.code, message: z.string() }))
    .meta({ description: 'The last 10 crashes, timeouts, failed starts and throttles, oldest first.' }),
});

/** The effective settings: every field resolved. */
export const scalingSchema = z.object(scalingFields);

export const trafficShareSchema = z.object({
  version: z.number().int().min(1),
  percent: z.number().int().min(1).max(100).meta({ description: 'Whole percent of the calls.' }),
});
export const trafficSchema = z.array(trafficShareSchema).meta({
  description:
    'Which versions serve the calls and their shares, by version; the live version alone at 100 when there is no split (`skiff fn traffic`). Empty before a version built.',
});
/** The live version's settings with every default applied: what its instances run with. */
export const resolvedSpecSchema = z
  .object({
    version: z.number().int().min(1),
    runtime: z.enum(RUNTIME_NAMES),
    handler: z.string().meta({ description: 'The entry file the build found or made.' }),
    flavor: z.string().meta({ description: '`native` or a compatibility flavor.' }),
    command: z.array(z.string()).nullable(),
    env: z
      .record(z.string(), z.string())
      .meta({ description: 'skiff.json `env`, names and values (not secret: secrets are set apart).' }),
    secrets: z
      .array(secretNameSchema)
      .meta({ description: 'The names of the function’s secrets (also in the environment); never values.' }),
    triggers: z
      .object({
        mqtt: z.array(z.object({ subscribe: z.string() }).loose()),
        cron: z.array(z.object({ schedule: z.string() }).loose()),
      })
      .meta({ description: 'Beyond HTTP, gRPC and CoAP (which reach every function).' }),
    timeoutMs: count,
    startTimeoutMs: count,
    limits: z
      .object({
        memoryMb: z.number(),
        cpus: z.number(),
        pids: z.number(),
        tmpMb: z.number(),
        openFiles: z.number(),
        fileSizeMb: z.number(),
      })
      .meta({ description: 'The platform’s defaults < skiff.json, within the platform’s ceilings.' }),
    network: z.enum(NETWORK_MODES),
    access: z.object({
      callers: z.array(z.string()).nullable().meta({ description: 'null: every function may call it.' }),
      private: z.boolean(),
    }),
  })
  .meta({ description: 'The live version’s resolved settings; null without a live version.' });

export const functionDetailSchema = functionSummarySchema.extend({
  handler: z
    .string()
    .nullable()
    .meta({ description: 'Handler from the spec, else the entry file found by the build.' }),
  spec: functionSpecSchema.nullable(),
  versions: z.array(versionSchema).meta({ description: 'Oldest first.' }),
  scaling: scalingSchema,
  scalingOverride: scalingInputSchema
    .nullable()
    .meta({ description: 'What `skiff fn scale` set; it wins over skiff.json.' }),
  instances: z.array(instanceSchema),
  status: functionStatusSchema,
  traffic: trafficSchema,
  resolved: resolvedSpecSchema.nullable(),
});

export const scalingResultSchema = z.object({
  scaling: scalingSchema,
  override: scalingInputSchema.nullable(),
});

export const logEntrySchema = z.object({
  ts: dateTime,
  stream: z.enum(['stdout', 'stderr', 'log', 'build', 'platform']),
  level: z.string().meta({ description: 'debug, info, warn or error.' }),
  message: z.string().meta({ description: 'Cut at 16 KiB.' }),
  invocationId: z.string().optional().meta({ description: 'Absent for instance-level and build lines.' }),
  rootId: z.string().optional().meta({
    description:
      'The first invocation of the chain of calls and casts the invocation is part of; absent when it is the first itself.',
  }),
  version: z.number().int().min(1).optional(),
  traceId: z.string().optional().meta({
    description: 'The W3C trace id of the invocation (32 hex digits); absent for lines of no invocation.',
  }),
  logger: z
    .string()
    .optional()
    .meta({ description: "The logger the function's log call named, where its platform names loggers." }),
});

export const secretListSchema = z.object({
  secrets: z
    .array(z.object({ name: secretNameSchema, updatedAt: dateTime }))
    .meta({ description: 'By name. Values are never returned.' }),
});

export const asyncInvocationSchema = z.object({
  id: z.string(),
  function: z.string(),
  trigger: z.string().meta({ description: 'What queued it: async, cron, mqtt or cast (ctx.cast).' }),
  status: z.enum(ASYNC_STATUSES),
  attempts: count.meta({ description: 'Times the function ran.' }),
  createdAt: dateTime,
  finishedAt: dateTime.nullable(),
  result: z
    .object({
      status: z.number().int(),
      headers: z.array(z.tuple([z.string(), z.string()])),
      body: z.base64(),
    })
    .nullable()
    .meta({ description: 'The function’s answer, once succeeded; `body` is base64.' }),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  history: z.array(z.object({ at: dateTime, outcome: z.string() })),
  callbackStatus: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'HTTP status of the callback POST; 0 if it failed.' }),
  parentId: z
    .string()
    .nullable()
    .meta({ description: 'A cast: the invocation that made it (its parent in the invocation tree).' }),
  rootId: z
    .string()
    .nullable()
    .meta({ description: 'A cast: the first invocation of its chain (one no function made).' }),
  caller: z.string().nullable().meta({ description: 'A cast: the function that made it.' }),
  nextAt: dateTime.meta({
    description: 'When it is next due (or was last due): a delayed cast does not run before.',
  }),
  traceId: z.string().nullable().meta({
    description:
      'The W3C trace id its runs belong to (32 hex digits): the accepting request’s traceparent, its caster’s, or a new one; null for a record from before traces were kept.',
  }),
});

export const invocationDetailSchema = asyncInvocationSchema.extend({
  children: z
    .array(z.string())
    .meta({ description: 'Ids of the casts this invocation made, oldest first (at most 1000).' }),
  childrenCount: count.meta({ description: 'How many casts it made in all (also beyond the 1000 listed).' }),
});

/** An invocation in a list: its result without the body. */
export const asyncInvocationSummarySchema = asyncInvocationSchema.extend({
  result: z
    .object({ status: z.number().int(), headers: z.array(z.tuple([z.string(), z.string()])) })
    .nullable()
    .meta({
      description: 'The function’s answer, once succeeded, without its body (see the invocation itself).',
    }),
});

export const stateKeyInfoSchema = z.object({
  key: z.string(),
  version: z.number().int().min(1).meta({ description: '1 when the key was created, plus 1 per set.' }),
  size: count.meta({ description: 'Bytes of the value.' }),
  contentType: z.enum(STATE_CONTENT_TYPES),
  updatedAt: dateTime,
});

export const stateListSchema = z.object({
  keys: z
    .array(stateKeyInfoSchema)
    .meta({ description: 'In key order (by UTF-8 bytes); values are not listed.' }),
  next: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `after` for the next page; null on the last page.' }),
  usage: z
    .object({ keys: count, bytes: count.meta({ description: 'Bytes of all keys and values.' }) })
    .meta({ description: 'The whole function’s state, not only this page.' }),
  limits: z.object({ maxValueBytes: count, maxBytesPerFunction: count, maxKeysPerFunction: count }),
});

export const stateWriteSchema = z.object({
  key: z.string(),
  version: z.number().int().min(1).meta({ description: 'The version the set made (also in `ETag`).' }),
  created: z.boolean().meta({ description: 'True when the key did not exist before.' }),
});

// Whole bodies of the answers, for the routes' `satisfies` checks and the document.
export const functionListSchema = z.object({ functions: z.array(functionSummarySchema) });
export const functionResponseSchema = z.object({ function: functionDetailSchema });
export const deployResultSchema = z.object({ function: functionDetailSchema, version: versionSchema });
export const rollbackResultSchema = z.object({
  function: z.string(),
  from: z.number().int().nullable().meta({ description: 'The version that was live before.' }),
  version: versionSchema.meta({ description: 'The version live now.' }),
});
export const trafficResultSchema = z.object({
  function: z.string(),
  liveVersion: z.number().int().min(1),
  traffic: trafficSchema,
});
export const versionResponseSchema = z.object({ version: versionSchema });
export const logsResponseSchema = z.object({ logs: z.array(logEntrySchema) });
export const platformLogsResponseSchema = z.object({
  logs: z.array(
    logEntrySchema.extend({
      function: z.string().meta({ description: 'The function whose log the line is in.' }),
    }),
  ),
});
export const invocationListSchema = z.object({ invocations: z.array(asyncInvocationSummarySchema) });
export const invocationResponseSchema = z.object({ invocation: invocationDetailSchema });
export const executorSchema = z.object({
  warmPool: z
    .partialRecord(z.enum(RUNTIME_NAMES), count)
    .meta({ description: 'How many warm-pool processes wait for a cold start, per runtime.' }),
  budget: z
    .object({
      memoryMb: count.meta({
        description: 'executor.budget.memoryMb: the memory limits of the instances alive, summed, at most.',
      }),
      instances: count.meta({ description: 'executor.budget.instances: instances alive at once, at most.' }),
      usedMemoryMb: count.meta({
        description: 'The memory limits of the instances alive now, summed (MiB).',
      }),
      usedInstances: count.meta({ description: 'Instances alive now (until their process has exited).' }),
      waiting: count.meta({ description: 'Instance starts waiting for room.' }),
    })
    .meta({ description: 'The instance budget over all functions and what is taken of it.' }),
});
export const healthSchema = z.object({ status: z.literal('ok') });
export const limitsSchema = z.object({
  maxUploadBytes: count.meta({
    description: 'build.maxUploadBytes: the largest deploy upload (a packed folder or archive) taken.',
  }),
});
export const endpointsSchema = z.object({
  endpoints: z.record(z.string(), z.string()).meta({
    description:
      'Listener name → URL as the platform reaches itself (`control`, `http`, and the other listeners that are on); a wildcard bind address is written as 127.0.0.1. The same as `<dataDir>/endpoints.json`.',
  }),
});

/** The named schemas of the document's `components.schemas`; any other schema is written inline. */
export const responseComponents = {
  Error: errorSchema,
  FunctionSpec: functionSpecSchema,
  FunctionSummary: functionSummarySchema,
  FunctionDetail: functionDetailSchema,
  ResolvedSpec: resolvedSpecSchema,
  TrafficShare: trafficShareSchema,
  Version: versionSchema,
  Instance: instanceSchema,
  FunctionStatus: functionStatusSchema,
  Scaling: scalingSchema,
  ScalingSettings: scalingInputSchema,
  ScalingResult: scalingResultSchema,
  LogEntry: logEntrySchema,
  SecretList: secretListSchema,
  AsyncInvocation: asyncInvocationSchema,
  AsyncInvocationSummary: asyncInvocationSummarySchema,
  InvocationDetail: invocationDetailSchema,
  DeployResult: deployResultSchema,
  StateKeyInfo: stateKeyInfoSchema,
  StateList: stateListSchema,
  StateWrite: stateWriteSchema,
} as const;
